"""A compute target's default secrets (``mlws compute create/update --secret NAME[=ENVVAR]``):
names kept on the target, never values; checked when set and again at each submission (a
secret deleted or purged since is a clear error naming the target, and nothing is recorded); a
run's own ``--secret`` replacing a default given as the same variable.  Runs on targets that
use them: tests/test_run_start_compute.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from mlws_testing import free_port, leaks, train_project

from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from jupyter_mlws.errors import Conflict, InvalidInput, NotFound, PermissionDenied

VALUE = "tgt/Secret+value=CANARY-8080"


def mlws(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)])


@pytest.fixture
def secrets_ws(ws):
    me = os_user()
    ws.secrets.set(me, "hf-token", VALUE)
    ws.secrets.set(me, "db-pass", "db-pass-value-1")
    ws.secrets.set(me, "old-token", "old-token-value")
    ws.secrets.delete(me, "old-token")
    return ws


def dead_dask(ws, name: str = "farm", **options) -> dict:
    """A dask target whose scheduler is not there (nothing here needs it to be)."""
    return ws.compute.create(name, "dask", address=f"tcp://127.0.0.1:{free_port()}", **options)


def test_a_target_keeps_the_names_of_its_secrets_never_their_values(secrets_ws):
    ws = secrets_ws
    target = dead_dask(ws, secrets=["hf-token=HF_TOKEN", "db-pass"])
    assert target["secrets"] == {"HF_TOKEN": "hf-token", "db_pass": "db-pass"}
    assert ws.compute.get("farm") == target
    assert [t["secrets"] for t in ws.compute.list()] == [{}, target["secrets"]]
    assert VALUE not in json.dumps(ws.compute.list())
    reads = [e for e in ws.secrets.audit() if e["action"] == "read"]
    assert reads == []  # naming a secret reads no value
    assert leaks(ws.root, VALUE) == []
    # replaced, then cleared; runs already submitted keep what they were given
    assert ws.compute.update("farm", secrets=["db-pass=DB"])["secrets"] == {"DB": "db-pass"}
    assert ws.compute.update("farm", secrets=[])["secrets"] == {}
    assert ws.compute.get("farm")["address"] == target["address"]  # its settings are kept


@pytest.mark.parametrize("secrets, error, message", [
    (["nope"], NotFound, "no secret named 'nope'"),
    (["old-token"], Conflict, "secret 'old-token' is deleted: recover it"),
    (["hf-token=MLWS_TOKEN"], InvalidInput, "cannot be injected as MLWS_TOKEN"),
    (["hf-token=X", "db-pass=X"], InvalidInput, "would both be injected as X"),
    (["bad name"], InvalidInput, "invalid secret name"),
])
def test_bad_secrets_are_refused_on_create_and_update_and_nothing_changes(secrets_ws, secrets, error, message):
    ws = secrets_ws
    with pytest.raises(error, match=message):
        dead_dask(ws, secrets=secrets)
    assert [t["name"] for t in ws.compute.list()] == ["local"]
    dead_dask(ws, secrets=["db-pass"])
    with pytest.raises(error, match=message):
        ws.compute.update("farm", secrets=secrets)
    assert ws.compute.get("farm")["secrets"] == {"db_pass": "db-pass"}


def test_update_is_for_contributors_on_created_targets(secrets_ws):
    ws = secrets_ws
    dead_dask(ws)
    with pytest.raises(Conflict, match="local target is built in and takes no default secrets"):
        ws.compute.update("local", secrets=["db-pass"])
    with pytest.raises(NotFound, match="no compute target 'gone'"):
        ws.compute.update("gone", secrets=["db-pass"])
    ws.access.grant(os_user(), "rita", "reader")
    with pytest.raises(PermissionDenied):
        ws.compute.update("farm", secrets=["db-pass"], actor="rita")
    assert ws.compute.get("farm")["secrets"] == {}


def test_a_runs_own_secret_replaces_a_default_given_as_the_same_variable(secrets_ws):
    ws = secrets_ws
    dead_dask(ws, secrets=["hf-token=TOKEN", "db-pass"])
    assert ws.compute.run_secrets("farm") == {"TOKEN": "hf-token", "db_pass": "db-pass"}
    assert ws.compute.run_secrets("farm", ["db-pass=TOKEN"]) == {"TOKEN": "db-pass", "db_pass": "db-pass"}
    assert ws.compute.run_secrets(None, ["hf-token"]) == {"hf_token": "hf-token"}  # local: its own only
    # a default the run replaces is not needed, so a deleted one does not stop it
    ws.secrets.delete(os_user(), "hf-token")
    assert ws.compute.run_secrets("farm", ["db-pass=TOKEN"]) == {"TOKEN": "db-pass", "db_pass": "db-pass"}


def test_a_default_secret_deleted_or_purged_since_stops_a_submission_recording_nothing(secrets_ws, tmp_path):
    ws = secrets_ws
    notebook = train_project(tmp_path)
    dead_dask(ws, secrets=["hf-token=HF_TOKEN"])
    ws.secrets.delete(os_user(), "hf-token")
    with pytest.raises(Conflict) as caught:
        ws.submit_notebook(notebook, compute="farm")
    assert str(caught.value) == (
        "compute target 'farm' gives its runs secret 'hf-token', which is deleted: recover it "
        "('mlws secret recover hf-token') or change the target's secrets ('mlws compute update "
        "farm --secret NAME[=ENVVAR]', or --no-secrets)")
    with pytest.raises(Conflict, match="compute target 'farm' gives its runs secret 'hf-token'"):
        ws.submit_notebook(notebook, grid={"lr": [0.1, 0.2]}, compute="farm")
    with pytest.raises(Conflict, match="compute target 'farm' gives its runs secret 'hf-token'"):
        ws.run_command(["true"], compute="farm", cwd=tmp_path)
    ws.secrets.purge(os_user(), "hf-token")
    out = mlws(ws, "run", "start", "--compute", "farm", "--", "true")
    assert out.exit_code != 0
    assert "compute target 'farm' gives its runs secret 'hf-token', which does not exist: set it " \
           "('mlws secret set hf-token')" in out.stderr
    assert ws.search_runs() == [] and ws.runs.list_experiments() == []


def test_the_cli_sets_shows_and_clears_a_targets_secrets(secrets_ws):
    ws = secrets_ws
    address = f"tcp://127.0.0.1:{free_port()}"
    out = mlws(ws, "compute", "create", "farm", "--type", "dask", "--address", address,
               "--secret", "hf-token=HF_TOKEN", "--secret", "db-pass")
    assert out.exit_code == 0, out.output
    shown = mlws(ws, "compute", "show", "farm").stdout
    assert "\nsecrets: hf-token as HF_TOKEN, db-pass as db_pass\n" in shown
    assert VALUE not in shown
    out = mlws(ws, "compute", "update", "farm", "--secret", "db-pass=DB")
    assert out.exit_code == 0 and out.stdout == "compute target farm gives its runs: db-pass as DB\n"
    out = mlws(ws, "compute", "update", "farm")
    assert out.exit_code == 2 and "--secret NAME[=ENVVAR]" in out.stderr and "--no-secrets" in out.stderr
    out = mlws(ws, "compute", "update", "farm", "--no-secrets", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["secrets"] == {}
    out = mlws(ws, "compute", "update", "farm", "--secret", "old-token")
    assert out.exit_code != 0 and "secret 'old-token' is deleted" in out.stderr
