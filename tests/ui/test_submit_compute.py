"""The Submit form's compute choice in a real JupyterLab and Chromium: the workspace's targets
listed with their state, an ssh target (the real sshd of tests/sshd.py) whose environments
differ from the kernel's (the drift warning, with Build and Go on, as `mlws run submit` warns),
one whose runs use the host's own Python (a warning without Build),
and a notebook submitted to a dask target (a real LocalCluster): the run executes on its workers
and its page shows the target."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_mlws import Workspace
from jupyter_mlws.access import os_user

from .conftest import SCREENSHOTS

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def no_index_python(sshd) -> str:
    """The host's python3, with pip told to use no package index (its builds fail at once)."""
    import os
    import subprocess

    wrapper = sshd.user.home / f"mlws-ui-noindex-python-{os.getpid()}"
    wrapper.write_text('#!/bin/sh\nPIP_NO_INDEX=1 exec /usr/bin/python3 "$@"\n')
    wrapper.chmod(0o755)
    if os.geteuid() == 0:
        subprocess.run(["chown", f"{sshd.user.name}:", str(wrapper)], check=True)
    return str(wrapper)


@pytest.fixture(scope="module")
def targets(lab, sshd, local_cluster):
    """In the lab's workspace: ssh target ``box`` (the test sshd; its secret ``box-key``, given
    also to every run on it) and dask target ``cluster`` (the LocalCluster); a project folder
    ``remote-demo`` with train.ipynb.  Removed afterwards (the lab is the session's)."""
    root = lab["root"]
    with Workspace.open(root) as ws:
        ws.secrets.set(os_user(), "box-key", sshd.user.private_key)
        ws.secrets.set(os_user(), "hf-token", "hf-token-value-1234")
        ws.compute.create("box", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-work",
                          secrets=["hf-token=HF_TOKEN"], env="build")
        ws.compute.create("sys", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-work",
                          python="/nowhere/python3")
        ws.compute.create("cluster", "dask", address=local_cluster.address)
        ws.compute.create("nopip", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-nopip",
                          python=no_index_python(sshd), env="build")
    project = root / "remote-demo"
    project.mkdir()
    shutil.copy(NOTEBOOKS / "train.ipynb", project / "train.ipynb")
    yield root
    with Workspace.open(root) as ws:
        for name in ("box", "sys", "cluster", "nopip"):
            ws.compute.delete(name, check_actor=False)
        for name in ("box-key", "hf-token"):
            ws.secrets.delete(os_user(), name)
            ws.secrets.purge(os_user(), name)
    shutil.rmtree(project, ignore_errors=True)


def test_submit_a_notebook_to_a_dask_target_from_the_form(page, lab, targets):
    page.goto(f"{lab['url']}{lab['home']}?token={lab['token']}")
    folder = page.locator(".jp-DirListing-item", has_text="remote-demo")
    folder.dblclick()
    item = page.locator(".jp-DirListing-item[data-file-type='notebook']", has_text="train.ipynb")
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Submit as experiment").click()

    dialog = page.locator(".jp-Dialog")
    select = dialog.locator("select.mlws-SubmitCompute")
    select.wait_for()
    page.wait_for_function("document.querySelector('select.mlws-SubmitCompute').disabled === false")
    options = select.locator("option").all_inner_texts()
    assert options[0] == "local (this machine)"  # the default
    assert select.input_value() == "local"
    assert options[1].startswith("box (ssh · ") and options[1].endswith(" · untested)")
    assert options[2].startswith("cluster (dask · tcp://127.0.0.1:") and options[2].endswith(" · untested)")
    assert dialog.locator(".mlws-SubmitDrift").count() == 0  # local: nothing to say

    # an ssh target whose runs use the host's own Python (env: system): nothing to build there
    select.select_option("sys")
    drift = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn")
    drift.wait_for()
    assert drift.locator("li").inner_text().startswith(
        "runs on sys use the host's own Python (/nowhere/python3) and its packages: how they differ "
        "from the kernel's is not known")
    assert drift.locator("button.mlws-SubmitBuild").count() == 0
    assert "use the host's own Python and packages: install what the notebook needs there" in \
        drift.locator(".mlws-Hint").inner_text()
    drift.locator("button.mlws-SubmitGoOn").click()  # nothing is built there: it says so
    assert dialog.locator(".mlws-SubmitDrift").inner_text() == \
        "Submitting: runs on sys use the host's own Python and its packages as they are."
    # an env: build ssh target where nothing is built: the warning mlws run submit gives, with its choices
    select.select_option("box")
    drift = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn")
    drift.wait_for()
    assert "box's environment differs from the kernel's" in drift.inner_text()
    assert "no environment is built on box: the first run there builds" in drift.locator("li").inner_text()
    assert dialog.locator(".mlws-SubmitComputeSecrets").inner_text() == \
        "Runs on box are given its secrets: hf-token as HF_TOKEN."
    assert drift.locator("button.mlws-SubmitBuild").is_visible()
    dialog.locator(".mlws-SubmitParam[data-param='lr']").fill("0.5")
    dialog.locator(".mlws-SubmitExperiment").fill("ui-compute")
    page.screenshot(path=str(SCREENSHOTS / "submit-compute.png"))
    drift.locator("button.mlws-SubmitGoOn").click()
    assert dialog.locator(".mlws-SubmitDrift").inner_text().startswith(
        "Submitting without building first: the run builds the kernel's environment on box as it starts")

    # a build that fails on the host (its pip has no index): the reason, then the installer's
    # own lines, whole and wrapped inside the box
    select.select_option("nopip")
    dialog.locator(".mlws-SubmitDrift.mlws-mod-warn button.mlws-SubmitBuild").click()
    failed = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn", has_text="The build on nopip failed")
    failed.wait_for(timeout=300_000)
    with Workspace.open(targets) as ws:
        error = next(e for e in ws.environments.list("nopip") if e["state"] == "failed")["error"]
    reason, *output = error.splitlines()
    assert failed.locator(".mlws-SubmitDriftReason").inner_text() == reason
    assert failed.locator(".mlws-SubmitDriftOutput").inner_text() == "\n".join(output)
    assert any("no-index" in line or "No matching distribution" in line for line in output), output
    for part in (".mlws-SubmitDriftReason", ".mlws-SubmitDriftOutput"):  # wrapped, never wider
        assert failed.locator(part).evaluate("e => e.scrollWidth <= e.clientWidth + 1"), part
    dialog.screenshot(path=str(SCREENSHOTS / "submit-build-failed.png"))

    # a dask target: runs use its workers' Python, nothing to compare; submitted there
    select.select_option("cluster")
    dialog.locator(".mlws-SubmitDrift").wait_for(state="detached")
    assert dialog.locator(".mlws-SubmitComputeSecrets").count() == 0
    dialog.locator("button", has_text="Submit").click()

    view = page.locator("#jp-main-dock-panel .mlws-RunPage")  # the new run's page
    view.locator(".mlws-RunTitle").wait_for()
    assert view.locator(".mlws-Compute dd").inner_text() == "cluster"
    view.locator(".mlws-RunStatus .mlws-Status", has_text="completed").wait_for(timeout=180_000)
    run_id = view.get_attribute("data-run-id")
    with Workspace.open(targets) as ws:
        run = ws.get_run(run_id)
        assert run.status == "completed", run.record.error
        assert run.record.experiment == "ui-compute" and run.params["lr"] == "0.5"
        name, data = ws.compute.target_of(run_id)
        assert name == "cluster" and data["key"].startswith(f"mlws-run-{run_id}-")
    page.screenshot(path=str(SCREENSHOTS / "run-on-compute.png"))
    # the target's name opens its page
    view.locator(".mlws-RunCompute").click()
    page.locator("#jp-main-dock-panel .mlws-Page", has_text="tcp://127.0.0.1:").first.wait_for()
