"""The Submit form's compute choice in a real JupyterLab and Chromium: the workspace's targets
listed with their state, an ssh target (the real sshd of tests/sshd.py) whose environments
differ from the kernel's (the drift warning, with Build and Submit anyway, as `mlws run submit`
warns; Submit waits for the choice), ones whose runs use the host's own Python (a summary
naming the packages the notebook imports, every difference behind a disclosure; no Build), one
that cannot be reached (said so, nothing to submit), a parameter value the server cannot type
(shown at its field, the form kept), and a notebook submitted to a dask target (a real
LocalCluster): the run executes on its workers and its page shows the target."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlws_testing import free_port

from jupyter_mlws import Workspace
from jupyter_mlws.access import os_user

from .conftest import SCREENSHOTS

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def host_script(sshd, name: str, body: str) -> str:
    """A shell script of the login user's on the host (its home), as a target's ``python``."""
    import os
    import subprocess

    wrapper = sshd.user.home / f"mlws-ui-{name}-{os.getpid()}"
    wrapper.write_text(f"#!/bin/sh\n{body}\n")
    wrapper.chmod(0o755)
    if os.geteuid() == 0:
        subprocess.run(["chown", f"{sshd.user.name}:", str(wrapper)], check=True)
    return str(wrapper)


def no_index_python(sshd) -> str:
    """The host's python3, with pip told to use no package index (its builds fail at once)."""
    return host_script(sshd, "noindex-python", 'PIP_NO_INDEX=1 exec /usr/bin/python3 "$@"')


def old_python(sshd) -> str:
    """A stand-in for an old Python on the host: it says it is 3.0.0 (what a build target's
    check asks it), so pins of the kernel's environment need a newer one."""
    return host_script(sshd, "old-python", "echo 3.0.0")


def in_view(locator) -> bool:
    """Whether the element shows whole in its dialog's body (no scrolling to find it)."""
    return locator.evaluate("""e => {
        const box = (e.closest('.jp-Dialog-content') || document.body).getBoundingClientRect();
        const r = e.getBoundingClientRect();
        return r.height > 0 && r.top >= box.top && r.bottom <= box.bottom;
    }""")


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
        ws.compute.create("host", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-work")
        ws.compute.create("down", "ssh", host="127.0.0.1", port=free_port(), user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-work")
        ws.compute.create("cluster", "dask", address=local_cluster.address)
        ws.compute.create("nopip", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-nopip",
                          python=no_index_python(sshd), env="build")
        ws.compute.create("old", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                          key_secret="box-key", host_key=sshd.host_key, workdir="mlws-ui-old",
                          python=old_python(sshd), env="build")
    project = root / "remote-demo"
    project.mkdir()
    shutil.copy(NOTEBOOKS / "train.ipynb", project / "train.ipynb")
    yield root
    with Workspace.open(root) as ws:
        for name in ("box", "sys", "host", "down", "cluster", "nopip", "old"):
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

    submit = dialog.locator(".jp-Dialog-footer button.jp-mod-accept")
    assert submit.is_enabled()
    # an ssh target whose runs use the host's own Python (env: system): nothing to build there
    select.select_option("sys")
    drift = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn")
    drift.wait_for()
    assert drift.locator(".mlws-SubmitDriftSummary").inner_text().startswith(
        "runs on sys use the host's own Python (/nowhere/python3) and its packages: how they differ "
        "from the kernel's is not known")
    assert drift.locator("button.mlws-SubmitBuild").count() == 0
    assert "Install what the notebook needs with sys's Python, or submit anyway" in \
        drift.locator(".mlws-Hint").inner_text()
    assert submit.is_disabled()  # a choice first
    drift.locator("button.mlws-SubmitGoOn", has_text="Submit anyway").click()  # it says what that means
    assert dialog.locator(".mlws-SubmitDrift").inner_text() == \
        "Submitting: runs on sys use the host's own Python and its packages as they are."
    assert submit.is_enabled()
    # the host's python3 as it is: many packages differ, summed up by the ones the notebook
    # imports; every difference behind a disclosure; the choice in view, Submit waiting for it
    select.select_option("host")
    drift = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn")
    drift.locator(".mlws-SubmitDriftSummary").wait_for()
    with Workspace.open(targets) as ws:
        checked = ws.environments.check_submission(targets / "remote-demo" / "train.ipynb", None, "host")
    assert checked["imported"] == ["jupyter-mlws"]
    assert drift.locator(".mlws-SubmitDriftTitle").inner_text() == \
        "Runs on host use the host's own Python and packages"
    assert drift.locator(".mlws-SubmitDriftSummary").inner_text() == checked["summary"]
    assert checked["summary"].endswith(" packages differ (1 the notebook imports: jupyter-mlws)")
    details = drift.locator("details.mlws-SubmitDriftDetails")
    assert details.get_attribute("open") is None and not drift.locator("li").first.is_visible()
    assert drift.locator("button.mlws-SubmitBuild").count() == 0 and submit.is_disabled()
    assert in_view(drift.locator("button.mlws-SubmitGoOn")) and in_view(submit)
    page.screenshot(path=str(SCREENSHOTS / "submit-drift.png"))
    details.locator("summary").click()
    assert checked["lines"][1:] == drift.locator("li").all_inner_texts()
    assert in_view(drift.locator("button.mlws-SubmitGoOn"))  # the list opens below the choice
    # a target that cannot be reached: said so, the step and why; nothing to build or submit
    select.select_option("down")
    down = dialog.locator(".mlws-SubmitUnreachable")
    down.wait_for()
    assert down.locator(".mlws-SubmitDriftTitle").inner_text().startswith(
        "down is unreachable: the TCP connect step failed: ")
    assert "differs" not in down.inner_text()
    assert down.locator("button.mlws-SubmitBuild, button.mlws-SubmitGoOn").count() == 0
    assert submit.is_disabled()
    down.locator("button.mlws-SubmitCheckAgain").click()  # asked again: still unreachable
    dialog.locator(".mlws-SubmitUnreachable").wait_for()
    # an env: build ssh target where nothing is built: the warning mlws run submit gives, with its choices
    select.select_option("box")
    drift = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn")
    drift.locator(".mlws-SubmitDriftTitle", has_text="No environment is built on box yet").wait_for()
    assert drift.locator(".mlws-SubmitDriftSummary").inner_text().startswith(
        "The first run there builds the kernel's environment")
    assert dialog.locator(".mlws-SubmitComputeSecrets").inner_text() == \
        "Runs on box are given its secrets: hf-token as HF_TOKEN."
    assert drift.locator("button.mlws-SubmitBuild").is_visible() and submit.is_disabled()
    dialog.locator(".mlws-SubmitParam[data-param='lr']").fill("0.5")
    dialog.locator(".mlws-SubmitExperiment").fill("ui-compute")
    page.screenshot(path=str(SCREENSHOTS / "submit-compute.png"))
    drift.locator("button.mlws-SubmitGoOn").click()
    assert dialog.locator(".mlws-SubmitDrift").inner_text().startswith(
        "Submitting without building first: the run builds the kernel's environment on box as it starts")

    # a build the check knows will fail (the host's Python is older than pins need): said
    # beside Build, before anything is built
    select.select_option("old")
    warning = dialog.locator(".mlws-SubmitDrift.mlws-mod-warn .mlws-SubmitPythonWarning")
    warning.wait_for()
    assert warning.inner_text().startswith("The build will fail: old's Python is 3.0.0, the kernel's ")
    assert warning.inner_text().endswith("or build from a kernel whose packages take 3.0.0")
    assert "will fail as said above" in dialog.locator(".mlws-SubmitDrift .mlws-Hint").inner_text()
    assert in_view(warning) and in_view(dialog.locator("button.mlws-SubmitBuild"))

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
    # a value the server cannot type: said at its field in the form's words, the form kept open
    message = dialog.locator(".mlws-SubmitParam[data-param='message']")
    message.fill("[1, 2")
    submit.click()
    error = dialog.locator(".mlws-SubmitParamError[data-param='message']")
    error.wait_for()
    assert error.inner_text() == ("message: not valid YAML/JSON at column 6 (expected ',' or ']', but got "
                                  "'<stream end>'). Correct it, or tick \"text\" to pass it exactly as typed.")
    assert "-r " not in error.inner_text() and message.get_attribute("aria-invalid") == "true"
    assert dialog.locator(".mlws-SubmitExperiment").input_value() == "ui-compute"  # kept
    assert dialog.locator(".mlws-SubmitParam[data-param='lr']").input_value() == "0.5"
    assert select.input_value() == "cluster" and submit.is_disabled()
    dialog.screenshot(path=str(SCREENSHOTS / "submit-bad-value.png"))
    dialog.locator(".mlws-SubmitAsText input[data-param='message']").check()
    assert error.count() == 0
    submit.click()

    view = page.locator("#jp-main-dock-panel .mlws-RunPage")  # the new run's page
    view.locator(".mlws-RunTitle").wait_for()
    assert view.locator(".mlws-Compute dd").inner_text() == "cluster"
    view.locator(".mlws-RunStatus .mlws-Status", has_text="completed").wait_for(timeout=180_000)
    run_id = view.get_attribute("data-run-id")
    with Workspace.open(targets) as ws:
        run = ws.get_run(run_id)
        assert run.status == "completed", run.record.error
        assert run.record.experiment == "ui-compute" and run.params["lr"] == "0.5"
        assert run.params["message"] == "[1, 2"  # as typed, a string
        name, data = ws.compute.target_of(run_id)
        assert name == "cluster" and data["key"].startswith(f"mlws-run-{run_id}-")
    page.screenshot(path=str(SCREENSHOTS / "run-on-compute.png"))
    # the target's name opens its page
    view.locator(".mlws-RunCompute").click()
    page.locator("#jp-main-dock-panel .mlws-Page", has_text="tcp://127.0.0.1:").first.wait_for()
