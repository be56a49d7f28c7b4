"""A run on an ssh target with ``env: build``, end to end against the session's real sshd: the
run's kernel environment (a small venv of its own, tests/kernel_env.py) is built on the host
by the first run, from a wheelhouse the host's pip is configured with, and reused by the
second; both runs record its hash.  Asserted from what a user sees: the run's ``ssh-runner.log``
(``mlws run logs``), ``mlws env list`` / ``env show``, the runs' ``env_hash``."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from ssh_runs import KEEPALIVE, KEY, cli, gpu1, remote_python, runner_gone  # noqa: F401

BUILT = "gpu1b"
#: the host's environments and runs of BUILT, apart from gpu1's
WORKDIR = "mlws-envbuild"


@pytest.fixture
def built(gpu1, sshd, small_kernel, monkeypatch):
    """Target ``gpu1b`` (``env: build``) on the test sshd, with a fresh work folder; the host's
    pip installs from the small kernel's wheelhouse only (its own pip.conf); ``python3`` is the
    small kernel here."""
    ws, project = gpu1
    monkeypatch.setenv("JUPYTER_PATH", str(small_kernel.jupyter_path))
    home = sshd.user.home
    shutil.rmtree(home / WORKDIR, ignore_errors=True)
    shutil.rmtree(home / "envtest-wheels", ignore_errors=True)
    with ws.compute.connect("gpu1", check_actor=False) as conn:
        conn.put(small_kernel.wheelhouse, "envtest-wheels")
    conf = home / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f"[global]\nno-index = true\nfind-links = {home / 'envtest-wheels'}\n")
    subprocess.run(["chown", "-R", f"{sshd.user.name}:", str(home / ".config")], check=False)
    ws.compute.create(BUILT, "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                      key_secret=KEY, python=ws.compute.get("gpu1")["python"], workdir=WORKDIR,
                      env="build", keepalive=KEEPALIVE, accept_host_key=True, check_actor=False)
    try:
        yield ws, project
    finally:
        conf.unlink(missing_ok=True)
        ws.compute.delete(BUILT, check_actor=False)


def test_env_build_builds_the_runs_environment_on_the_host_once_then_reuses_it(built, sshd):
    ws, project = built
    spec = ws.environments.of_kernel("python3")
    assert "jupyter-mlws" in [p.name for p in spec.local]  # from this checkout's wheel
    logs, hashes = [], []
    for lr in (0.1, 0.2):
        out = cli(ws, "run", "submit", project / "train.ipynb", "-p", "lr", lr, "--compute", BUILT,
                  "--wait", "--json")
        assert out.exit_code == 0, out.output
        run = ws.get_run(json.loads(out.output[out.output.index("{"):])["id"])
        assert run.status == "completed", run.record.error
        assert run.metrics["loss"] == pytest.approx((1 - lr) ** 5)
        runner_gone(ws, run.id, target=BUILT)
        logs.append(cli(ws, "run", "logs", run.id).output)
        hashes.append(run.tags["env_hash"])
    assert hashes == [spec.short_hash] * 2  # what each run executed in: the environment built
    assert f"environment {spec.short_hash} built in" in logs[0], logs[0]
    assert f"environment {spec.short_hash} reused: nothing to build" in logs[1], logs[1]
    listed = cli(ws, "env", "list", "--compute", BUILT).output.splitlines()
    assert [line.split()[:3] for line in listed[1:]] == [[spec.short_hash, BUILT, "ready"]], listed
    shown = json.loads(cli(ws, "env", "show", spec.short_hash, "--json").output)
    assert [(t["target"], t["builds"]) for t in shown["targets"] if t["target"] == BUILT] == [(BUILT, 1)]
    history = (sshd.user.home / WORKDIR / "environments" / "builds.log").read_text()
    assert history.count(f"build {spec.hash} ready") == 1, history


def test_env_build_runs_a_notebook_of_any_kernel_name_in_the_environment_built(built, sshd,
                                                                              small_kernel,
                                                                              monkeypatch, tmp_path):
    """A kernel named otherwise than ``python3`` (``small``) only chooses which packages are
    built: on the host, no kernelspec of that name exists, and the environment's Python runs
    the notebook; the run keeps the name asked for."""
    from kernel_env import named_kernel

    ws, project = built
    monkeypatch.setenv("JUPYTER_PATH", named_kernel(small_kernel, tmp_path / "jupyter", "small"))
    spec = ws.environments.of_kernel("small")
    out = cli(ws, "run", "submit", project / "train.ipynb", "-p", "lr", 0.1, "--kernel", "small",
              "--compute", BUILT, "--wait", "--json")
    run = ws.get_run(json.loads(out.output[out.output.index("{"):])["id"])
    assert run.status == "completed", run.record.error
    assert out.exit_code == 0, out.output
    assert run.metrics["loss"] == pytest.approx(0.9 ** 5)
    assert (run.tags["kernel"], run.tags["env_hash"]) == ("small", spec.short_hash)
    runner_gone(ws, run.id, target=BUILT)
    with ws.artifacts.open(run.id, "notebook/train.ipynb") as f:
        notebook = json.load(f)
    assert notebook["metadata"]["kernelspec"]["name"] == "small"
