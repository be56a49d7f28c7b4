"""Automated ML on an ssh target, against the session's real sshd (tests/sshd.py): the search and
the refit run on the host, the workspace records each trial once, keeps the budget and registers
the best model with the host's environment; a host that lacks FLAML is refused at the
environment step in plain words, an unreachable one at its connection step; a host that dies
mid-way fails the search naming the step with its finished trials kept, and ``mlws automl
resume`` completes it once the host is back; a cancel stops the search's processes there.
Budgets are a few seconds."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("flaml")
pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")
pytest.importorskip("paramiko")

from click.testing import CliRunner  # noqa: E402
from mlws_testing import wait_for  # noqa: E402
from ssh_runs import kill_sshd  # noqa: E402
from test_automl import bc_workspace  # noqa: E402

from jupyter_mlws.access import os_user  # noqa: E402
from jupyter_mlws.automl.trials import TRIAL_TAG, Trial  # noqa: E402
from jupyter_mlws.cli import main as cli_main  # noqa: E402
from jupyter_mlws.compute.ssh.runners import runner_files  # noqa: E402

pytestmark = pytest.mark.timeout(300)

NAME, BARE, KEY = "gpu-box", "bare-box", "automl-ssh-key"
WORKDIR = "mlws automl; $(id)"  # quoted wherever it goes


@pytest.fixture(scope="module")
def host_python(sshd):
    """The login user's Python with this checkout's jupyter_mlws and this venv's packages
    (FLAML, LightGBM): a host where ``pip install 'jupyter_mlws[automl]'`` was run."""
    from sshd import executor_python

    return executor_python(sshd.user)


@pytest.fixture(scope="module")
def ws(tmp_path_factory, sshd, host_python):
    with bc_workspace(tmp_path_factory.mktemp("automl-ssh")) as ws:
        ws.secrets.set(os_user(), KEY, sshd.user.private_key)
        common = dict(host="127.0.0.1", port=sshd.port, user=sshd.user.name, key_secret=KEY,
                      workdir=WORKDIR, keepalive=2, accept_host_key=True, check_actor=False)
        ws.compute.create(NAME, "ssh", python=host_python, **common)
        ws.compute.create(BARE, "ssh", python=sshd.user.python, **common)
        yield ws


def mlws(ws, *args):
    return CliRunner().invoke(cli_main, ["-w", str(ws.root), *map(str, args)],
                              catch_exceptions=False)


def _trials(ws, run_id) -> dict[str, Trial]:
    return {c.id: Trial.from_tag(c.tags[TRIAL_TAG]) for c in ws.runs.children(run_id)}


def _host_folder(sshd, run_id):
    return sshd.user.home / WORKDIR / "automl" / run_id


def test_a_search_runs_on_the_host_and_its_best_model_is_registered(ws, sshd, host_python):
    """``mlws automl run ... --compute gpu-box --wait``: the trials are child runs with params
    and metrics, each once; the budget is kept; the model was refit on
    the host (its environment is the host's Python) and registered with lineage; nothing is
    left on the host."""
    out = mlws(ws, "automl", "run", "--data", "bc", "--target", "target", "--task",
               "classification", "--time-budget", "8s", "--compute", NAME, "--wait", "--json")
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    run_id = shown["run"]["id"]
    assert shown["run"]["status"] == "completed", shown["run"]
    # the search ran there: its run says so (the run page's Compute, `run list -f`), as do its
    # trials' (a newcomer's page said "local (this machine)")
    trials = _trials(ws, run_id)
    children = ws.runs.children(run_id)
    assert set(ws.compute.targets_of([run_id, *(c.id for c in children)]).values()) == {NAME}
    assert trials and all(c.status == "completed" for c in children)
    for child in children:
        trial = trials[child.id]
        assert child.params["estimator"] == trial.estimator
        assert set(child.metrics) == {"roc_auc", "val_loss", "train_time_s"}
        assert abs(child.metrics["roc_auc"] - (1 - trial.val_loss)) < 1e-9
    # each trial recorded once: numbers 1..n, no configuration twice
    assert sorted(t.number for t in trials.values()) == list(range(1, len(trials) + 1))
    assert len({t.key() for t in trials.values()}) == len(trials)
    assert len(shown["leaderboard"]) == len(trials) and shown["leaderboard"][0]["best"]
    # the budget: as on local, its clock starts when FLAML's search starts (on the host);
    # connecting, the upload and starting Python there are setup_s, apart
    budget = shown["budget"]
    log = ws.run_logs(run_id)["automl.log"].decode()
    assert budget["time_spent_s"] <= 8 * 1.05, (budget, log)
    assert abs(budget["search_s"] + budget["refit_s"] - budget["time_spent_s"]) < 0.01, budget
    assert budget["setup_s"] > 0
    assert f"connecting to {sshd.user.name}@127.0.0.1:{sshd.port} (ssh target {NAME})" in log
    assert f"on ssh {sshd.user.name}@127.0.0.1:{sshd.port} in " in log  # the refit's line
    # the model: refit there, registered here with lineage, the host's environment and stats
    model = ws.models.resolve(shown["model"])
    parent = ws.runs.get(run_id)
    assert model.run_id == run_id and model.tags["env_hash"] == parent.tags["env_hash"]
    assert ("bc:1", "training") in [(d["ref"], d["how"]) for d in model.datasets]
    assert sorted(f["path"] for f in model.files) == ["automl.json", "model.pkl", "score.py"]
    stats = ws.models.training_stats(model)
    assert stats["rows"] == 569 and len(stats["features"]) == 30
    with ws.artifacts.open(run_id, "environment.json") as f:
        environment = json.load(f)
    assert environment["executable"] == "/usr/bin/python3"  # the host's Python, not this venv's
    with ws.artifacts.open(run_id, "automl/leaderboard.json") as f:
        assert len(json.load(f)) == len(trials)
    with ws.artifacts.open(run_id, "model/model.pkl") as f:
        assert f.read(1) == b"\x80"  # a pickle: the model refit there, stored here
    # nothing left behind: the search's folder there, the runner's state here
    assert not _host_folder(sshd, run_id).exists()
    assert not runner_files(ws.root, run_id)[0].exists()


def test_a_host_without_flaml_is_refused_at_the_environment_step(ws, sshd):
    """The target's Python imports jupyter_mlws but not FLAML: the search fails at the
    environment step saying what to install, with no trial recorded; ``mlws compute test``
    says the same, as a note (notebook runs still work there)."""
    if sshd.user.python == sys.executable:
        pytest.skip("the login user is this user: its Python has FLAML")
    out = mlws(ws, "automl", "run", "--data", "bc", "--target", "target", "--task",
               "classification", "--time-budget", "6s", "--compute", BARE, "--wait", "--json")
    assert out.exit_code == 1, out.output
    run = json.loads(out.stdout)["run"]
    assert run["status"] == "failed"
    assert run["error"] == (
        f"ssh {sshd.user.name}@127.0.0.1:{sshd.port}: the environment step failed: "
        f"{sshd.user.python!r} on the host cannot import flaml, lightgbm: automated ML runs its "
        "search there with FLAML and LightGBM; install them in that Python (pip install "
        "'jupyter_mlws[automl]'), or give the target --env build from a Python that has them")
    assert ws.runs.children(run["id"]) == []
    assert not _host_folder(sshd, run["id"]).exists()
    checks = {c["check"]: c for c in ws.compute.test(BARE, check_actor=False)["checks"]}
    assert checks["automl"]["status"] == "skip" and checks["disk"]["status"] == "ok"
    assert "cannot import flaml, lightgbm" in checks["automl"]["detail"]
    checks = {c["check"]: c for c in ws.compute.test(NAME, check_actor=False)["checks"]}
    assert checks["automl"]["status"] == "ok", checks["automl"]
    assert checks["automl"]["detail"] == ("FLAML and LightGBM import: 'mlws automl run ... "
                                          f"--compute {NAME}' runs its search on the host")


def test_a_host_dying_mid_search_fails_it_naming_the_step_and_resume_completes_it(ws, sshd):
    """sshd dies with its connections while trials run (the search's runner detached, as
    ``mlws automl run`` without --wait starts it): the search ends failed at the execution step,
    its finished trials kept; once the host is back, ``mlws automl resume RUN --wait`` cleans
    up what the lost attempt left there and completes the search, no trial recorded twice."""
    run_id = ws.automl_service.start("bc", "target", "classification", time_budget=12,
                                     compute=NAME, register=False)
    try:
        wait_for(lambda: len(ws.runs.children(run_id)) >= 2, "two trials recorded", 120)
        kill_sshd(sshd)
        record = wait_for(lambda: (r := ws.runs.get(run_id)).status not in ("queued", "running")
                          and r, "the search ended", 60)
    finally:
        sshd.start()
    assert record.status == "failed", record
    where = f"ssh {sshd.user.name}@127.0.0.1:{sshd.port}"
    assert record.error.startswith(
        f"{where}: the execution step failed: the connection to the host was lost while the "
        "search ran there (the host or its SSH server went away); its finished trials are kept: "
        f"'mlws automl resume {run_id}' goes on from them"), record.error
    before = _trials(ws, run_id)
    assert len(before) >= 2
    assert _host_folder(sshd, run_id).is_dir()  # left there: the host could not be reached
    out = mlws(ws, "automl", "resume", run_id, "--wait", "--json")
    assert out.exit_code == 0, out.output
    parent = ws.runs.get(run_id)
    assert parent.status == "completed", parent.error
    after = _trials(ws, run_id)
    assert set(before) <= set(after) and all(after[k] == v for k, v in before.items())
    assert len({t.key() for t in after.values()}) == len(after)
    assert sorted(t.number for t in after.values()) == list(range(1, len(after) + 1))
    log = ws.run_logs(run_id)["automl.log"].decode()
    assert f"resumed with {len(before)} finished trials" in log
    # the log tells the whole search: the lost attempt's trials and why it ended come first
    first = log.index(f"resumed with {len(before)} finished trials")
    assert "failed: " + where + ": the execution step failed" in log[:first], log
    assert log[:first].count("trial ") >= len(before), log
    # what the lost attempt left running there was stopped first (by the runner's leftovers, or
    # as this run's earlier attempt while its runner was still exiting)
    assert "stopped the run's processes left on the host (process group " in log, log
    assert not _host_folder(sshd, run_id).exists()
    assert parent.metrics["time_spent_s"] <= 12 * 1.05


def test_a_search_on_an_unreachable_ssh_host_fails_naming_the_step(ws):
    """Nothing answers on the host's port: the search ends failed at the TCP connect step, with
    no trial."""
    import socket
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from jupyter_mlws.access import os_user

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    ws.secrets.set(os_user(), "box-key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode())
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws.compute.create("box", "ssh", host="127.0.0.1", port=port, user="nobody",
                      key_secret="box-key", host_key=public, check_actor=False)
    run = ws.automl("bc", "target", "classification", compute="box", time_budget=5, wait=True)
    assert run.status == "failed"
    assert run.record.error.startswith(f"ssh nobody@127.0.0.1:{port}: the TCP connect step "
                                       "failed: "), run.record.error
    assert ws.runs.children(run.id) == []


def test_a_cancel_stops_the_search_on_the_host(ws, sshd):
    """``mlws run cancel RUN`` of a search running on the host: it ends canceled with its
    finished trials, its processes there (the search's and the refit's process groups) are
    stopped and its folder removed."""
    from ssh_runs import wait_group_gone

    run_id = ws.automl_service.start("bc", "target", "classification", time_budget=120,
                                     compute=NAME, register=False)
    wait_for(lambda: ws.runs.children(run_id), "a trial recorded", 120)
    state = json.loads(runner_files(ws.root, run_id)[0].read_text())
    assert len(state["pgids"]) == 2  # the refit's and the search's
    out = mlws(ws, "run", "cancel", run_id)
    assert out.exit_code == 0, out.output
    record = wait_for(lambda: (r := ws.runs.get(run_id)).status not in ("queued", "running")
                      and r, "the search ended", 60)
    assert record.status == "canceled", record
    assert ws.runs.children(run_id)
    for pgid in state["pgids"]:
        wait_group_gone(pgid, 30)
    wait_for(lambda: not _host_folder(sshd, run_id).exists(), "the host's folder removed", 30)
