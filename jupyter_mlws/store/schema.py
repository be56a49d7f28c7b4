"""The metadata tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

Times are integer milliseconds since the epoch.  Runs carry an integer ``pk``
for compact joins and a public ``id`` (16 hex digits).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import UserDefinedType


class MetricValue(UserDefinedType):
    """A double that keeps its exact bits.

    SQLite folds ``-0.0`` into ``0`` in a column of REAL affinity, so there the
    column is declared ``BLOB`` (no affinity: floats are stored as they are).
    NaN is stored as NULL on every database, since SQLite cannot store NaN.
    """

    cache_ok = True

    def get_col_spec(self, **kw):
        return "DOUBLE PRECISION"


@compiles(MetricValue, "sqlite")
def _metric_value_sqlite(element, compiler, **kw):
    return "BLOB"


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("run_counter", Integer, nullable=False, default=0),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("experiment_pk", Integer, ForeignKey("experiments.pk"), nullable=False),
    Column("parent_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("number", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("heartbeat_at", BigInteger, nullable=True),
    Column("source_type", Text, nullable=False, default="script"),
    Column("source_name", Text, nullable=False, default=""),
    Column("git_commit", Text, nullable=True),
    Column("git_branch", Text, nullable=True),
    Column("git_dirty", Boolean, nullable=True),
    Column("user_name", Text, nullable=False, default=""),
    Column("host", Text, nullable=False, default=""),
    Column("pid", Integer, nullable=True),
    # when that process started (clock ticks since boot): a pid reused later is not the run's
    Column("pid_started", BigInteger, nullable=True),
    # the number of metric points ever written: the next batch's id base
    Column("point_seq", BigInteger, nullable=False, default=0),
)
Index("ix_runs_experiment_start", runs.c.experiment_pk, runs.c.start_time)
Index("ix_runs_parent", runs.c.parent_pk)
Index("ix_runs_status", runs.c.status)

params = Table(
    "params",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
    # the value as a number when it is one, so that params.n > 5 compares numbers
    Column("num", Float, nullable=True),
    PrimaryKeyConstraint("run_pk", "key"),
)
Index("ix_params_key_value", params.c.key, params.c.value)

tags = Table(
    "tags",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_pk", "key"),
)
Index("ix_tags_key_value", tags.c.key, tags.c.value)

#: a metric point's id is ``run_pk << POINT_BITS | n``: the n-th point the run logged
POINT_BITS = 36

# One row per logged point.  The id clusters the table by run, then logging
# order (on SQLite it is the rowid), so a run's points read as one range scan
# and appends need no secondary index.  Limits: 2**36 points per run, 2**27 runs.
metrics = Table(
    "metrics",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("run_pk", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", MetricValue, nullable=True),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("key", Text, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", MetricValue, nullable=True),
    Column("count", BigInteger, nullable=False, default=0),
    PrimaryKeyConstraint("run_pk", "key"),
)
Index("ix_latest_metrics_key_value", latest_metrics.c.key, latest_metrics.c.value)

# lists, tables and images: rich values with a step, JSON inline or a blob
run_values = Table(
    "run_values",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("data", Text, nullable=True),
    Column("blob", Text, nullable=True),
)
Index("ix_run_values_run_key", run_values.c.run_pk, run_values.c.key)

# files of a run: artifacts, the source snapshot and logs, each a content-addressed blob
run_files = Table(
    "run_files",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_pk", "kind", "path"),
)

# how a notebook run executes: enough to re-execute it from its record (migration 2)
notebook_runs = Table(
    "notebook_runs",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), primary_key=True, autoincrement=False),
    # the notebook, relative to the snapshot root, and where it ran
    Column("notebook", Text, nullable=False),
    Column("workdir", Text, nullable=False),
    Column("kernel", Text, nullable=False),
    # typed parameters as JSON, exactly as injected
    Column("parameters", Text, nullable=False),
    Column("timeout", Float, nullable=True),
    Column("retries", Integer, nullable=False, default=0),
    Column("attempt", Integer, nullable=False, default=0),
    Column("cells_total", Integer, nullable=False, default=0),
    Column("cells_done", Integer, nullable=False, default=0),
    Column("rerun_of", Integer, ForeignKey("runs.pk"), nullable=True),
    # a copy of the output notebook inside the workspace, a template like "reports/{run_name}.ipynb"
    Column("output", Text, nullable=True),
)

# -- the model registry (migration 3) ----------------------------------------------------

models = Table(
    "models",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("version_counter", Integer, nullable=False, default=0),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_pk", Integer, ForeignKey("models.pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("flavor", Text, nullable=False, default="unknown"),
    Column("size", BigInteger, nullable=False),
    # sha256 over the sorted (path, file sha256) list: two identical versions hash alike
    Column("sha256", Text, nullable=False),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("source", Text, nullable=False, default=""),
    # the run's params and metrics when registered, as JSON (lineage that survives later edits)
    Column("lineage", Text, nullable=False, default="{}"),
    Column("tags", Text, nullable=False, default="{}"),
    UniqueConstraint("model_pk", "version"),
)

model_files = Table(
    "model_files",
    metadata,
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    PrimaryKeyConstraint("version_pk", "path"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_pk", Integer, ForeignKey("models.pk"), nullable=False),
    Column("alias", Text, nullable=False),
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), nullable=False),
    PrimaryKeyConstraint("model_pk", "alias"),
)

# -- endpoints (migration 4) ----------------------------------------------------------

endpoints = Table(
    "endpoints",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    # creating, healthy, failed, stopped
    Column("state", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("port", Integer, nullable=True),
    Column("workers", Integer, nullable=False),
    Column("primary_key", Text, nullable=False),
    Column("secondary_key", Text, nullable=False),
    # bumped on every change a running server must pick up (keys, traffic, deployments)
    Column("config_version", Integer, nullable=False, default=0),
    # the supervisor process and the machine it runs on
    Column("pid", Integer, nullable=True),
    Column("machine", Text, nullable=False, default=""),
    Column("error", Text, nullable=True),
    Column("restarts", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # JSON: timeouts, limits, sampling
    Column("settings", Text, nullable=False, default="{}"),
)

deployments = Table(
    "deployments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("endpoint_pk", Integer, ForeignKey("endpoints.pk"), nullable=False),
    Column("name", Text, nullable=False),
    Column("traffic", Integer, nullable=False, default=0),
    # the scoring script: a blob and the file name it was given as
    Column("entry_script", Text, nullable=False),
    Column("entry_name", Text, nullable=False),
    # JSON list of {"pk", "ref"} in the order given (the first is MLWS_MODEL_DIR)
    Column("models", Text, nullable=False),
    # creating, healthy, failed
    Column("state", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("endpoint_pk", "name"),
)

# which model versions a deployment serves (the registry refuses to delete those)
deployment_models = Table(
    "deployment_models",
    metadata,
    Column("deployment_pk", Integer, ForeignKey("deployments.pk"), nullable=False),
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), nullable=False),
    PrimaryKeyConstraint("deployment_pk", "version_pk"),
)
Index("ix_deployment_models_version", deployment_models.c.version_pk)

# request statistics per deployment and time bucket; several rows per bucket add up
endpoint_metrics = Table(
    "endpoint_metrics",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("endpoint_pk", Integer, ForeignKey("endpoints.pk"), nullable=False),
    Column("deployment", Text, nullable=False),
    Column("bucket_start", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    # JSON {"200": n, ...}
    Column("statuses", Text, nullable=False),
    # JSON {"bin index": n}: latency histogram (bins in jupyter_mlws.endpoints.serving.monitor)
    Column("latency", Text, nullable=False),
    Column("latency_sum_ms", Float, nullable=False, default=0.0),
)
Index("ix_endpoint_metrics_endpoint_bucket", endpoint_metrics.c.endpoint_pk,
      endpoint_metrics.c.bucket_start)

# sampled request/response payloads (off unless the endpoint's sample rate is > 0)
endpoint_samples = Table(
    "endpoint_samples",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("endpoint_pk", Integer, ForeignKey("endpoints.pk"), nullable=False),
    Column("deployment", Text, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("request", Text, nullable=False),
    Column("response", Text, nullable=False),
)
Index("ix_endpoint_samples_endpoint_ts", endpoint_samples.c.endpoint_pk, endpoint_samples.c.ts)

# -- training-data statistics of model versions (migration 6) -----------------------------

model_training_stats = Table(
    "model_training_stats",
    metadata,
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), primary_key=True),
    # JSON from jupyter_mlws.drift.feature_stats: per-feature summary, no rows
    Column("stats", Text, nullable=False),
)

# -- workspace roles (migration 5) ------------------------------------------------------

# who may do what: owner, contributor or reader (jupyter_mlws.access); the workspace's
# creator (meta "creator") is the owner while this table is empty
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("user_name", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("granted_by", Text, nullable=False, default=""),
    Column("granted_at", BigInteger, nullable=False),
)

# -- secrets: the workspace's key vault (migration 9) -------------------------------------

# one row per name, live or soft-deleted (a deleted name is kept until purge_at, then purged)
secrets = Table(
    "secrets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    # the latest version's number (versions count from 1)
    Column("version", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", Text, nullable=False, default=""),
    Column("deleted_at", BigInteger, nullable=True),
    Column("deleted_by", Text, nullable=True),
    Column("purge_at", BigInteger, nullable=True),
)

# every version's value, encrypted (nonce || AES-GCM ciphertext) under the key file's key key_id
secret_versions = Table(
    "secret_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("secret_pk", Integer, ForeignKey("secrets.pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
    UniqueConstraint("secret_pk", "version"),
)
Index("ix_secret_versions_key", secret_versions.c.key_id)

# what happened to secrets, and every read of a value: who, when, which run; never a value.
# Kept by name (no key): a purged secret's history stays.
secret_events = Table(
    "secret_events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    # set, read, delete, recover, purge, expire, rotate-key
    Column("action", Text, nullable=False),
    Column("version", Integer, nullable=True),
    Column("user_name", Text, nullable=False, default=""),
    Column("run_id", Text, nullable=True),
    Column("ts", BigInteger, nullable=False),
)
Index("ix_secret_events_name_ts", secret_events.c.name, secret_events.c.ts)

# the secrets a run was given, and the environment variable each is injected as (names only)
run_secrets = Table(
    "run_secrets",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("env", Text, nullable=False),
    Column("name", Text, nullable=False),
    # who submitted the run: its reads of the values are theirs in the audit
    Column("bound_by", Text, nullable=False, default=""),
    PrimaryKeyConstraint("run_id", "env"),
)

# -- compute targets (migration 10) --------------------------------------------------------

# named places runs execute besides this machine (``local`` is built in, never a row)
compute_targets = Table(
    "compute_targets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    # ssh or dask
    Column("type", Text, nullable=False),
    # the type's settings as JSON (ssh: host, user, port, workdir, python, key_secret; dask: address)
    Column("settings", Text, nullable=False),
    # an ssh target's pinned host key, "TYPE BASE64"
    Column("host_key", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
)

# where a run executes when not on this machine: the target and its handle (JSON) to find it again
run_compute = Table(
    "run_compute",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("target", Text, nullable=False),
    Column("handle", Text, nullable=True),
    Column("assigned_at", BigInteger, nullable=False),
)
Index("ix_run_compute_target", run_compute.c.target)

# -- run-scoped tokens (migration 11) ------------------------------------------------------

# a token that lets a process elsewhere (an SSH machine, a Dask worker) write to one run over the
# workspace server's REST API (jupyter_mlws.run_tokens); only the sha256 of the token is kept
run_tokens = Table(
    "run_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Text, nullable=False),
    # hex sha256 of the whole token: what a request's token is looked up by
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
Index("ix_run_tokens_run", run_tokens.c.run_id)


# -- environments built on compute targets (migration 12) ---------------------------------------

# one row per target and environment hash: what was built where, and how it went.  ``spec`` is
# the environment's spec (JSON); ``state`` building, ready or failed (``error`` says why);
# ``path`` its folder on the target; sizes in bytes; times in ms.
environments = Table(
    "environments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("target", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Column("spec", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("installer", Text, nullable=True),
    Column("size_bytes", BigInteger, nullable=True),
    Column("build_seconds", Float, nullable=True),
    # builds that ran for it (a reuse runs none)
    Column("builds", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger, nullable=True),
    UniqueConstraint("target", "hash"),
)
Index("ix_environments_hash", environments.c.hash)

# -- runs executing elsewhere (migration 13) -----------------------------------------------

# a run executed by a process elsewhere (an SSH host, a Dask worker) through the REST API: the
# attempt that executes it now (a retried execution is a new attempt; writes of an older one are
# refused) and a cancel asked for, which the executor hears on its heartbeat's reply
run_executions = Table(
    "run_executions",
    metadata,
    Column("run_id", Text, primary_key=True),
    # the attempt's id, chosen by the target (e.g. a Dask task key and retry) or by the server
    Column("attempt", Text, nullable=False),
    Column("host", Text, nullable=False, default=""),
    Column("started_at", BigInteger, nullable=False),
    # how many attempts have started (the first is 1)
    Column("attempts", Integer, nullable=False, default=1),
    Column("cancel_requested_at", BigInteger, nullable=True),
)

# -- pipelines (migration 14) -----------------------------------------------------------------

# a pipeline run: its parent run, the pipeline's name, its checked definition (JSON, the steps and
# their inputs: the DAG) and the options it was started with (JSON: parameters, compute, only,
# from, force, no_reuse, max_parallel)
pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("options", Text, nullable=False),
)
Index("ix_pipeline_runs_name", pipeline_runs.c.name)

# one row per step of a pipeline run: its state (pending, running, completed, reused, skipped,
# failed, blocked, canceled), its child run, the run whose outputs it reuses (``source_pk``), its
# reuse key (sha256) and the key's parts (JSON: code, parameters, inputs, environment), why it
# ran or was reused (``reason``, and ``changed``: a JSON list of what changed), its outputs (JSON:
# name -> {sha256, size}) and when it started and ended (ms)
pipeline_steps = Table(
    "pipeline_steps",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("pipeline_run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("pipeline", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("source_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("key", Text, nullable=True),
    Column("parts", Text, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("changed", Text, nullable=False, default="[]"),
    Column("outputs", Text, nullable=True),
    Column("started_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    UniqueConstraint("pipeline_run_pk", "name"),
)
Index("ix_pipeline_steps_key", pipeline_steps.c.key)
Index("ix_pipeline_steps_step", pipeline_steps.c.pipeline, pipeline_steps.c.name)

# -- notebook VMs (migration 15) ---------------------------------------------------------------

# a notebook VM: a machine made at a provider (libcloud's, or the local one) and reached over SSH.
# ``id`` (16 hex digits) tags its node at the provider (mlws:vm), so a VM made again under the
# same name is another VM; ``state`` is one of jupyter_mlws.vms.states.STATES and ``reason`` says
# why it is so.  Its connection: host, ssh_port, ssh_user, host_key ("TYPE BASE64", pinned at
# creation), key_secret (the workspace secret holding the private key it is logged in with),
# python (the interpreter runs there execute with).  Scripts are blobs (sha256) of the workspace's
# blob store.  idle_shutdown_s, schedule and schedule_tz are kept for the idle and schedule
# ticks.  A deleted VM's row stays (its history); a name is unique among the others.
vms = Table(
    "vms",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("size", Text, nullable=False),
    Column("image", Text, nullable=True),
    Column("region", Text, nullable=True),
    Column("owner", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("node_id", Text, nullable=True),
    Column("host", Text, nullable=True),
    Column("ssh_port", Integer, nullable=True),
    Column("ssh_user", Text, nullable=True),
    Column("host_key", Text, nullable=True),
    Column("key_secret", Text, nullable=True),
    Column("credentials_secret", Text, nullable=True),
    Column("python", Text, nullable=True),
    Column("setup_script", Text, nullable=True),
    Column("startup_script", Text, nullable=True),
    # seconds each script may run before the VM is failed
    Column("script_timeout_s", Integer, nullable=False, default=600),
    Column("idle_shutdown_s", Integer, nullable=True),
    Column("schedule", Text, nullable=True),
    Column("schedule_tz", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
    Column("updated_at", BigInteger, nullable=False),
    # the lease of a busy state (migration 18; jupyter_mlws.vms.leases): the process doing the
    # step (host, pid, its start in clock ticks), its last beat (ms) and the step it is at; all
    # null outside busy states
    Column("busy_host", Text, nullable=True),
    Column("busy_pid", BigInteger, nullable=True),
    Column("busy_started", BigInteger, nullable=True),
    Column("busy_at", BigInteger, nullable=True),
    Column("busy_step", Text, nullable=True),
)
Index("ux_vms_live_name", vms.c.name, unique=True, sqlite_where=vms.c.state != "deleted",
      postgresql_where=vms.c.state != "deleted")

# every state a VM went through, with the reason and who asked (what ``mlws vm show`` lists)
vm_events = Table(
    "vm_events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("vm_id", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("from_state", Text, nullable=True),
    Column("to_state", Text, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("actor", Text, nullable=False, default=""),
)
Index("ix_vm_events_vm", vm_events.c.vm_id, vm_events.c.pk)


# -- cron ticks claimed exactly once, idle-shutdown postponements (migration 16) ---------------

# one row per tick acted on: (owner kind, owner id, action, nominal fire time) is claimed once,
# however many processes watch the workspace, in the transaction that writes the action's own
# record (jupyter_mlws.ticks).  ``missed_after`` (ms): set on a catch-up claim, the ticks due in
# (missed_after, nominal_at) were missed and not claimed on their own.  Times in ms.
tick_claims = Table(
    "tick_claims",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    # what owns the schedule: "vm", "schedule", ...; and its id
    Column("owner_kind", Text, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("nominal_at", BigInteger, nullable=False),
    Column("missed_after", BigInteger, nullable=True),
    Column("claimed_at", BigInteger, nullable=False),
    # the watcher that claimed it (host:pid), for the record
    Column("claimed_by", Text, nullable=False, default=""),
    UniqueConstraint("owner_kind", "owner_id", "action", "nominal_at"),
)
Index("ix_tick_claims_owner", tick_claims.c.owner_kind, tick_claims.c.owner_id,
      tick_claims.c.nominal_at)

# a later idle shutdown asked for (the warning's "postpone 1 h"): no idle stop of the owner
# (e.g. a VM) before ``until_at`` (ms); ``by`` who asked, ``asked_at`` when (ms)
idle_postpones = Table(
    "idle_postpones",
    metadata,
    Column("owner_kind", Text, nullable=False),
    Column("owner_id", Text, nullable=False),
    Column("until_at", BigInteger, nullable=False),
    Column("by", Text, nullable=False, default=""),
    Column("asked_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("owner_kind", "owner_id"),
)


# -- the tokens a notebook VM's JupyterLab records into the workspace with (migration 17) -------

# one row per token issued at a VM's start (jupyter_mlws.vms.tokens): it signs in as the VM's
# owner, capped at contributor, on the runs and experiments routes only, while the VM runs and
# until it is revoked (at the VM's stop) or expires.  Only the token's sha256 is kept.  Times in ms.
vm_tokens = Table(
    "vm_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("vm_id", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
Index("ix_vm_tokens_vm", vm_tokens.c.vm_id)


# -- schedules: notebooks and pipelines run on a cron (migration 18) ------------------------------

# a schedule (jupyter_mlws.schedules): ``id`` (16 hex digits) owns its tick claims (owner kind
# "schedule"), so a schedule made again under the same name starts afresh.  ``kind`` notebook or
# pipeline; ``source`` the file as the user named it (shown; never a server path), ``source_path``
# where it was read (absolute: the folder its runs execute in, and whether it still exists),
# ``entry`` its path inside that folder, ``snapshot`` the files taken at create/update (JSON:
# relative path -> sha256 of the blob), ``snapshot_at`` when, ``experiment`` its runs' experiment.  ``cron`` (5 fields) read in ``tz``
# (IANA); ``params`` (JSON object), ``compute`` (a target's name, null: local), ``secrets`` (JSON
# list of NAME or NAME=ENVVAR), ``catch_up`` (latest, skip, all:N), ``retries`` (0..10),
# ``notify`` (JSON list of {url, on}), ``paused``; ``since_at``: ticks at or before it are never
# due (set at creation, at a change of cron or zone, and at resume).  Times in ms.
schedules = Table(
    "schedules",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("entry", Text, nullable=False),
    Column("snapshot", Text, nullable=False),
    Column("snapshot_at", BigInteger, nullable=False),
    Column("experiment", Text, nullable=False),
    Column("cron", Text, nullable=False),
    Column("tz", Text, nullable=False),
    Column("params", Text, nullable=False, default="{}"),
    Column("compute", Text, nullable=True),
    Column("secrets", Text, nullable=False, default="[]"),
    Column("catch_up", Text, nullable=False, default="latest"),
    Column("retries", Integer, nullable=False, default=0),
    Column("notify", Text, nullable=False, default="[]"),
    # a pipeline schedule's reuse options (version 22): {"no_reuse": true} or {"force": [STEP]}
    Column("run_options", Text, nullable=False, default="{}", server_default="{}"),
    Column("paused", Boolean, nullable=False, default=False),
    Column("owner", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("since_at", BigInteger, nullable=False),
)

# one row per run a schedule started, and per retry still to start: the schedule, its run (null
# for a retry not started yet), the tick it is for (``nominal_at``; a manual trigger's time for
# origin "manual"), ``missed_from`` (set on a catch-up run: it also stands for the ticks in
# (missed_from, nominal_at)), the ticks it stands for (``ticks``: JSON list of ms, the newest 100;
# ``tick_count`` how many, counted up to 1001), ``attempt`` (0, then 1.. for
# retries) and ``retry_of`` (the run it retries), ``due_at`` when a retry may start, and when the
# run was handed over to execute (``started_at``) and its end handled (``settled_at``: the retry
# decided, the notification sent).  (schedule, origin, nominal, attempt) is unique: a retry is
# recorded once, however many schedulers see the run fail.  Times in ms.
schedule_runs = Table(
    "schedule_runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("schedule_id", Text, nullable=False),
    Column("run_id", Text, nullable=True),
    Column("origin", Text, nullable=False),
    Column("nominal_at", BigInteger, nullable=False),
    Column("missed_from", BigInteger, nullable=True),
    Column("ticks", Text, nullable=False, default="[]"),
    Column("tick_count", Integer, nullable=False, default=1),
    Column("attempt", Integer, nullable=False, default=0),
    Column("retry_of", Text, nullable=True),
    Column("due_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("settled_at", BigInteger, nullable=True),
    UniqueConstraint("schedule_id", "origin", "nominal_at", "attempt"),
)
Index("ix_schedule_runs_schedule", schedule_runs.c.schedule_id, schedule_runs.c.pk)
Index("ix_schedule_runs_open", schedule_runs.c.settled_at)
# -- datastores (migration 20) -------------------------------------------------------------------

# named places data lives (jupyter_mlws.datastores): an fsspec URL (s3://, gs://, abfs://, sftp://,
# file://) and the workspace secret holding its credentials (by name: never a credential here).
# ``default`` is built in, never a row.  Times in ms.
datastores = Table(
    "datastores",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    # the URL as registered, without credentials (refused in it); its query holds the options
    Column("url", Text, nullable=False),
    Column("credentials_secret", Text, nullable=True),
    # an sftp datastore's pinned host key, "TYPE BASE64" (put in each machine's known_hosts)
    Column("host_key", Text, nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
)

# -- versioned datasets with lineage (migration 21) ---------------------------------------------

# a dataset: a name whose versions are file sets (jupyter_mlws.datasets)
datasets = Table(
    "datasets",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("version_counter", Integer, nullable=False, default=0),
)

# one version: its files' objects live in datastore ``datastore`` (by sha256); ``root_hash`` is the
# sha256 over its sorted (path, sha256, size) list, so equal content hashes alike.  ``stats`` (JSON,
# tabular versions only): format, schema and jupyter_mlws.endpoints.drift.feature_stats.  ``run_pk``:
# the run that made it (registered from inside a run, a pipeline step's declared output).  The row
# is written only once every object is stored: a register killed mid-way leaves no version.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("dataset_pk", Integer, ForeignKey("datasets.pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("datastore", Text, nullable=False),
    Column("root_hash", Text, nullable=False),
    Column("files", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tags", Text, nullable=False, default="{}"),
    Column("source", Text, nullable=False, default=""),
    Column("stats", Text, nullable=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False, default=""),
    UniqueConstraint("dataset_pk", "version"),
)
Index("ix_dataset_versions_datastore", dataset_versions.c.datastore)
Index("ix_dataset_versions_run", dataset_versions.c.run_pk)

# a version's manifest: one row per file (path relative to the dataset's root, '/'-separated)
dataset_files = Table(
    "dataset_files",
    metadata,
    Column("version_pk", Integer, ForeignKey("dataset_versions.pk"), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    PrimaryKeyConstraint("version_pk", "path"),
)
Index("ix_dataset_files_sha256", dataset_files.c.sha256)

dataset_aliases = Table(
    "dataset_aliases",
    metadata,
    Column("dataset_pk", Integer, ForeignKey("datasets.pk"), nullable=False),
    Column("alias", Text, nullable=False),
    Column("version_pk", Integer, ForeignKey("dataset_versions.pk"), nullable=False),
    PrimaryKeyConstraint("dataset_pk", "alias"),
)

# lineage: a run that used a version (``how``: "input", a notebook parameter or a pipeline input;
# "read", through ws.dataset(...)), or a model version trained on it (``how`` "training").  A
# model version also inherits its run's rows (read at query time, never copied).
dataset_uses = Table(
    "dataset_uses",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("version_pk", Integer, ForeignKey("dataset_versions.pk"), nullable=False),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("model_version_pk", Integer, ForeignKey("model_versions.pk"), nullable=True),
    Column("how", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
)
Index("ux_dataset_uses_run", dataset_uses.c.version_pk, dataset_uses.c.run_pk, dataset_uses.c.how,
      unique=True, sqlite_where=dataset_uses.c.run_pk.isnot(None),
      postgresql_where=dataset_uses.c.run_pk.isnot(None))
Index("ix_dataset_uses_run", dataset_uses.c.run_pk)
Index("ix_dataset_uses_model", dataset_uses.c.model_version_pk)


# -- users' API tokens (migration 23) ---------------------------------------------------------

# a token a teammate signs in to a workspace server with (jupyter_mlws.access.tokens): it acts as
# ``user_name``, with that user's workspace role, on the workspace's API only.  ``id`` (12 hex
# digits) names it in listings and revokes; only the token's sha256 is kept.  Times in ms.
user_tokens = Table(
    "user_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("user_name", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Column("revoked_by", Text, nullable=True),
)
Index("ix_user_tokens_user", user_tokens.c.user_name)
