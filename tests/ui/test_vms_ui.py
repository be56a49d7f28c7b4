"""Notebook VMs in a real JupyterLab and Chromium, on a team's server (workspace roles applied),
with the local provider (a real sshd per node).

On a workspace whose VMs run JupyterLab: a VM created from the Compute page's form (a server's
refusal shown verbatim first), its setup log shown while it comes up, then running in the page
and the navigator; Open JupyterLab opens the VM's own JupyterLab in a new tab; an idle check made
in another process (this one, with a clock 55 minutes ahead; the server's own scheduler is off)
reaches the page as the idle warning with "Postpone 1 h", and ``GET vms/NAME`` reports it;
stopped, a delete confirmed (Escape keeps it), and gone.

On a workspace whose VMs run no JupyterLab (``vm_jupyterlab = false``): Open JupyterLab is
disabled, saying why (the server's open is a 409); ``vm-idle-warning`` events become one
notification per VM and stop time.  Someone else's VM: its controls disabled, saying whose it
is; a reader's Create VM disabled, saying why."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mlws_testing import start_jupyter, stop_jupyter

from .conftest import CHROMIUM, SCREENSHOTS, lab_api, palette
from .test_compute_page import NAMED_USER, grant

SETUP = 'echo "setting up in $HOME"\nsleep 4\necho "setup finished"\n'
EVENT_SCHEMA = "https://jupyter-mlws.org/events/vm-idle-warning"
#: the browser's time zone (Chromium names it GMT+1 or GMT+2 in English)
ZONE = "Europe/Berlin"


#: the tests on a workspace whose VMs run JupyterLab, and on one whose VMs do not
JUPYTERLAB = pytest.mark.parametrize("vm_lab", ["jupyterlab"], indirect=True)
PLAIN = pytest.mark.parametrize("vm_lab", ["plain"], indirect=True)


@pytest.fixture(scope="module")
def vm_lab(sshd, request):
    """``jupyter lab`` on a workspace whose local VMs work here (tests/vm_support.py), with
    ``setup.sh`` in its folder and the test-only ``vm_idle_event`` extension; its VMs run
    JupyterLab with the param ``"jupyterlab"`` (then the server runs no scheduler: the tests
    check idleness themselves), else not."""
    import os

    from sshd import login_user, own_executor_python
    from vm_support import vm_workspace

    from jupyter_mlws import Workspace

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    jupyterlab = request.param == "jupyterlab"
    python, remove = own_executor_python(login_user()) if jupyterlab and os.geteuid() == 0 \
        else (None, None)
    ws = vm_workspace(jupyterlab=jupyterlab, python=python)
    root, folder = ws.root.parent, ws.root
    ws.close()
    (folder / "setup.sh").write_text(SETUP)
    config = root / "home" / "config"
    config.mkdir(parents=True)
    (config / "jupyter_server_config.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "c.ServerApp.jpserver_extensions = {'vm_idle_event': True}\n" + NAMED_USER)
    server = start_jupyter(root, lambda port, token: [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}", "--MlwsApp.enforce_roles=True",
        f"--MlwsApp.scheduler={not jupyterlab}"], cwd=folder)
    try:
        yield {"url": server.url, "token": server.token, "ws": folder, "log": server.log}
    finally:
        stop_jupyter(server)
        with Workspace.open(folder) as ws:
            for vm in ws.vms.list():
                ws.vms.delete(vm["name"], check_actor=False)
        if jupyterlab:
            from jupyter_mlws.remote.server import BackgroundServer

            BackgroundServer(folder).stop()  # the workspace server the VMs' kernels record into
        if remove is not None:
            remove()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def page(browser, vm_lab):
    """A fresh page at JupyterLab with the navigator open; its user ("alice") is a workspace
    owner unless a test says otherwise."""
    # a zone of its own: the idle warning's time is the browser's, with the zone's name
    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id=ZONE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{vm_lab['url']}lab/workspaces/vms-{id(page)}?mlws=open&token={vm_lab['token']}")
    page.wait_for_selector("#jp-main-dock-panel")
    vm_lab["user"] = page.evaluate("fetch('/api/me').then(r => r.json()).then(me => me.identity.username)")
    grant(vm_lab, "owner")
    page.reload()  # the first lists were fetched before the user had a role
    page.wait_for_selector("#jp-main-dock-panel")
    yield page
    context.close()


def publish_idle_warning(vm_lab, stop_at: int, name: str = "box") -> None:
    """The event of a VM idle for 50 min now, which stops at ``stop_at`` (ms)."""
    body = {"schema_id": EVENT_SCHEMA, "version": "1",
            "data": {"name": name, "stop_at": stop_at, "idle_since": int((time.time() - 3000) * 1000),
                     "reason": f"idle since long ago: it stops at {stop_at} unless used or "
                               "postponed (last activity: the server started at ...)"}}
    req = urllib.request.Request(f"{vm_lab['url']}api/events", data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"token {vm_lab['token']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # Jupyter's own emitter, as the live feed's
        assert resp.status == 204


def _hhmm(ms: int) -> str:
    """A time (ms) as HH:MM in the browser's zone."""
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ms / 1000, ZoneInfo(ZONE)).strftime("%H:%M")


def row(page, name: str):
    return page.locator(f".mlws-VMRow[data-vm='{name}']")


def idle_check_elsewhere(vm_lab, ahead: timedelta) -> dict:
    """The idle check as the scheduler makes it, in this process (not the server's), with its
    clock ``ahead`` of now: the decision it keeps for the server, as ``{"action", "stop_at",
    "reason"}``."""
    from jupyter_mlws import Workspace
    from jupyter_mlws.vms.watch import VMWatch

    with Workspace.open(vm_lab["ws"]) as ws:
        watch = VMWatch(ws, clock=lambda: datetime.now(timezone.utc) + ahead)
        watch.check_idle()
        for _vm_id, (_ident, monitor) in watch.monitors.items():
            monitor.probe.close()
        return {w["name"]: w for w in ws.vm_idle.warnings()}.get("box") or {}


@JUPYTERLAB
def test_create_watch_open_idle_stop_delete(page, vm_lab):
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator(".mlws-OpenCompute").click()
    page.wait_for_selector(".mlws-VMsSection")
    page.locator(".mlws-NoVMs").wait_for()  # no VMs yet

    # the form: the name field has the focus; a size the local provider lacks: its refusal verbatim
    page.locator(".mlws-NewVM").click()
    name = page.locator(".mlws-NewVM-name")
    assert name.evaluate("e => e === document.activeElement")
    assert page.locator(".mlws-NewVM-provider").input_value() == "local"
    name.fill("box")
    page.locator(".mlws-NewVM-size").fill("huge")
    page.locator(".mlws-NewVM-setup-kind").select_option("path")
    page.locator(".mlws-NewVM-setup-path").fill("no-such.sh")
    page.locator(".mlws-NewVM-size").press("Enter")  # Enter submits
    error = page.locator(".mlws-CreateVMError")
    error.wait_for()
    assert "no-such.sh: no such file in the server's folder" in error.inner_text()
    page.locator(".mlws-NewVM-setup-path").fill("setup.sh")
    page.locator(".mlws-NewVM-size").press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.mlws-CreateVMError')?.textContent.includes('huge')")
    status, answer = lab_api(vm_lab, "POST", "vms",
                                 {"name": "box", "provider": "local", "size": "huge"})
    assert status == 400 and error.inner_text() == answer["message"]  # the server's words; nothing created
    assert lab_api(vm_lab, "GET", "vms")[1] == {"vms": []}
    page.locator(".mlws-NewVM-size").fill("host")
    page.locator(".mlws-NewVM-startup-kind").select_option("text")
    page.locator(".mlws-NewVM-startup-text").fill("echo started at every start\n")
    page.locator(".mlws-NewVM-idle_shutdown").fill("1h")
    page.locator(".mlws-NewVM-name").press("Enter")

    # it comes up; its setup log is shown and followed meanwhile
    page.locator(".mlws-NewVMForm").wait_for(state="detached")
    log = page.locator(".mlws-VMLog[data-vm='box'] .mlws-VMLogText")
    log.wait_for()
    page.wait_for_function(  # followed while the setup script runs (it sleeps 4 s)
        "() => document.querySelector('.mlws-VMLogState')?.textContent.includes('following')")
    page.wait_for_selector(".mlws-VMRow[data-vm='box'][data-state='running']", timeout=180_000)
    page.wait_for_function(
        "() => document.querySelector('.mlws-VMLogText').textContent.includes('setup finished')")
    text = log.inner_text()
    assert "setting up in ~\n" in text and "started at every start" in text
    assert str(vm_lab["ws"]) not in text  # the VM's own paths, never this server's
    assert page.locator(".mlws-VMLogState").inner_text() == ""  # no longer followed
    assert "running" in row(page, "box").locator(".mlws-VMState").inner_text()
    owner = lab_api(vm_lab, "GET", "vms/box")[1]["owner"]
    assert owner == "alice" and row(page, "box").locator(".mlws-VMOwner").inner_text() == owner
    # the navigator lists it with its state
    nav = page.locator(".mlws-NavVM[data-vm='box']")
    page.wait_for_selector(".mlws-NavVM[data-vm='box'][data-state='running']")
    assert "vm running" in nav.inner_text()

    assert lab_api(vm_lab, "GET", "vms/box")[1]["jupyterlab"] is True
    button = row(page, "box").locator(".mlws-OpenVM")
    assert button.is_enabled() and button.get_attribute("title") == \
        "Open JupyterLab on box in a new browser tab"
    page.screenshot(path=str(SCREENSHOTS / "vms.png"))

    # Open JupyterLab: the VM's own JupyterLab (through the tunnel) in a new tab
    with page.context.expect_page() as opened:
        button.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert re.match(r"http://127\.0\.0\.1:\d+/lab", tab.url), tab.url
    assert f"127.0.0.1:{urlsplit(vm_lab['url']).port}" not in tab.url  # not this server
    tab.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    tab.close()
    assert row(page, "box").locator(".mlws-VMRefusal").count() == 0

    # the idle check, made in another process than the server's, 55 min on: the server reports
    # it (GET vms/box) and the page shows its warning once, with Postpone 1 h
    warned = idle_check_elsewhere(vm_lab, timedelta(minutes=55))
    assert warned, "the idle check did not warn of a stop"
    # the browser's clock as far ahead as the check's: "idle N min" is counted in the browser
    page.clock.set_system_time(datetime.now(timezone.utc) + timedelta(minutes=55))
    idle = lab_api(vm_lab, "GET", "vms/box")[1]["idle"]
    assert idle["action"] == "warn" and idle["stop_at"] == warned["stop_at"]
    assert idle["reason"] == warned["reason"] and idle["postponed_until"] is None
    toast = page.locator(".Toastify__toast", has_text="VM box stops at")
    toast.wait_for(timeout=60_000)  # the server's live feed publishes what the check kept
    # one short sentence, whole: the stop time in the browser's zone, how long it is idle (since
    # the VM's JupyterLab started, 55 min ago on both clocks)
    assert re.search(rf"^VM box stops at {_hhmm(warned['stop_at'])} GMT\+[12] \(idle 5\d min\)\.",
                     toast.inner_text()), toast.inner_text()
    page.wait_for_timeout(1000)  # the toast's entering animation, for the picture only
    page.screenshot(path=str(SCREENSHOTS / "vm-idle-warning.png"))
    toast.first.get_by_role("button", name="Postpone 1 h").click()
    answer = page.locator(".Toastify__toast", has_text="is not stopped for being idle before")
    answer.wait_for()
    postponed = lab_api(vm_lab, "GET", "vms/box")[1]["idle"]["postponed_until"]
    assert postponed is not None and abs(postponed - (time.time() + 3600) * 1000) < 120_000

    # stop; a delete is confirmed (Escape keeps the VM), then it is gone
    row(page, "box").locator(".mlws-VM-stop").click()
    page.wait_for_selector(".mlws-VMRow[data-vm='box'][data-state='stopped']", timeout=120_000)
    assert not row(page, "box").locator(".mlws-OpenVM").is_enabled()
    assert row(page, "box").locator(".mlws-OpenVM").get_attribute("title") == "box is stopped"
    row(page, "box").locator(".mlws-DeleteVM").click()
    page.locator(".jp-Dialog").wait_for()
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    assert lab_api(vm_lab, "GET", "vms/box")[1]["state"] == "stopped"
    row(page, "box").locator(".mlws-DeleteVM").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    row(page, "box").wait_for(state="detached", timeout=120_000)
    assert lab_api(vm_lab, "GET", "vms/box")[1]["state"] == "deleted"
    page.wait_for_selector(".mlws-NavVM[data-vm='box']", state="detached")


@PLAIN
def test_a_vm_without_jupyterlab_and_idle_warnings(page, vm_lab):
    """A VM that runs no JupyterLab: Open is disabled, saying why, and the server's open is a
    409 saying the same; ``vm-idle-warning`` events: one notification per VM and stop time, none
    for a VM that is not yours, with Postpone 1 h."""
    from jupyter_mlws import Workspace

    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.create("box", provider="local", size="host", owner="alice", idle_shutdown="1h",
                      check_actor=False)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator(".mlws-OpenCompute").click()
    page.wait_for_selector(".mlws-VMRow[data-vm='box'][data-state='running']")
    button = row(page, "box").locator(".mlws-OpenVM")
    assert not button.is_enabled()
    assert button.get_attribute("title") == (
        "box runs no JupyterLab: the workspace's mlws.toml says vm_jupyterlab = false, or its "
        "provider reaches no node over SSH")
    assert row(page, "box").locator(".mlws-VM-stop").is_enabled()  # the rest stays usable
    status, answer = lab_api(vm_lab, "POST", "vms/box/open", {})
    assert status == 409 and "runs no JupyterLab" in answer["message"]
    assert lab_api(vm_lab, "GET", "vms/box")[1]["jupyterlab"] is False

    stop_at = int((time.time() + 600) * 1000)
    publish_idle_warning(vm_lab, stop_at, "ghost")  # no such VM (none of yours): not shown
    publish_idle_warning(vm_lab, stop_at)
    toast = page.locator(".Toastify__toast", has_text="VM box stops at")
    toast.wait_for()
    publish_idle_warning(vm_lab, stop_at)  # again: not shown twice
    assert toast.inner_text().startswith(f"VM box stops at {_hhmm(stop_at)} GMT+"), toast.inner_text()
    assert re.search(r"^VM box stops at \d\d:\d\d GMT\+[12] \(idle 50 min\)\.\s*Postpone 1 h",
                     toast.inner_text()), toast.inner_text()  # the reason is in GET vms/box
    assert page.locator(".Toastify__toast", has_text="VM ghost").count() == 0
    publish_idle_warning(vm_lab, stop_at + 60_000)  # a new stop time: a new notification
    page.locator(".Toastify__toast", has_text="VM box stops at").nth(1).wait_for()
    assert page.locator(".Toastify__toast", has_text="VM box stops at").count() == 2
    toast.first.get_by_role("button", name="Postpone 1 h").click()
    # the answer, told from the warnings (whose button also says "Postpone")
    answer = page.locator(".Toastify__toast", has_text="is not stopped for being idle before")
    answer.first.wait_for()
    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.delete("box", check_actor=False)


@PLAIN
def test_someone_elses_vm_and_a_reader(page, vm_lab):
    """Bob's VM: a contributor sees its state, its controls disabled saying whose it is; a
    reader's Create VM is disabled, saying why."""
    from jupyter_mlws import Workspace

    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.create("bobs", provider="local", size="host", owner="bob", check_actor=False)
    grant(vm_lab, "contributor")
    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator(".mlws-OpenCompute").click()
    page.wait_for_selector(".mlws-VMRow[data-vm='bobs'][data-state='running']")
    assert page.locator(".mlws-NewVM").is_enabled()  # a contributor creates VMs of their own
    for control in (".mlws-OpenVM", ".mlws-VM-stop", ".mlws-VM-restart", ".mlws-VMLogButton",
                    ".mlws-DeleteVM"):
        button = row(page, "bobs").locator(control)
        assert not button.is_enabled(), control
        assert button.get_attribute("title").startswith(
            "bobs belongs to bob: only its owner or a workspace owner")
    page.wait_for_selector(".mlws-NavVM[data-vm='bobs'][data-state='running']")
    grant(vm_lab, "reader")
    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator(".mlws-OpenCompute").click()
    page.wait_for_selector(".mlws-VMRow[data-vm='bobs']")
    create = page.locator(".mlws-NewVM")
    assert not create.is_enabled() and "you are a reader" in create.get_attribute("title")
    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.delete("bobs", check_actor=False)


@PLAIN
def test_dark_theme_and_escape(page, vm_lab):
    """The Create VM form in JupyterLab Dark (a look, for the screenshot); Escape closes it."""
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator(".mlws-OpenCompute").click()
    page.locator(".mlws-NewVM").click()
    palette(page, "JupyterLab Dark")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    page.locator(".mlws-NewVM-name").fill("box2")
    page.screenshot(path=str(SCREENSHOTS / "vms-dark.png"))
    page.keyboard.press("Escape")  # closes the form; the focus goes back to Create VM
    page.locator(".mlws-NewVMForm").wait_for(state="detached")
    page.wait_for_function("() => document.activeElement?.classList.contains('mlws-NewVM')")
    palette(page, "JupyterLab Light")


@PLAIN
def test_a_newcomers_trips_internal_secrets_stale_rows_a_failed_vm_and_the_log(page, vm_lab):
    """What a newcomer tripped on: the VMs' own secrets (login key, token) offered in the Create
    VM form and counted in the navigator; a row still "stopped" after a start made elsewhere, and
    an idle warning left after its VM stopped; the CLI's flag in a form's refusal; a failed VM
    without a node offering Start/Stop, its row as tall as its log tail; the log not shown on
    Start nor closed on Delete; the delete dialog's focus on the red button."""
    from jupyter_mlws import Workspace

    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.create("box", provider="local", size="host", owner="alice", idle_shutdown="1h",
                      check_actor=False)
        ws.secrets.set("alice", "aws", '{"key": "k", "secret": "s"}', check_actor=False)
        assert sum(s["name"].startswith("mlws-vm-") for s in ws.secrets.list()) >= 1
        with pytest.raises(Exception):
            ws.vms.create("broken", provider="local", size="host", owner="alice",
                          setup_script="for i in $(seq 1 40); do echo line $i of the setup; done; "
                                       "exit 3\n", check_actor=False)
    page.reload()  # the navigator counted the secrets before these (no events for secrets)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    # the navigator counts the user's secrets only
    page.wait_for_function("() => document.querySelector('.mlws-NavSecrets')?.textContent.includes('1 secret')")
    # the Secrets page lists the VMs' own too, each marked as its VM's (by the listing's `vm`
    # field; a server without it: by the name), and its Set form offers the user's names only
    page.locator(".mlws-NavSecrets .mlws-NavOpen").click()
    secrets = page.locator("#jp-main-dock-panel .mlws-SecretsPage")
    secrets.locator(".mlws-SecretRow[data-secret='aws']").wait_for()
    listed = lab_api(vm_lab, "GET", "secrets")[1]["secrets"]
    own = [s for s in listed if s["name"].startswith("mlws-vm-")]
    assert own and all(s.get("vm", "box") in ("box", "broken") for s in own), listed
    for secret in own:
        expected = f"VM {secret['vm']}'s own" if "vm" in secret else "a notebook VM's own"
        mark = secrets.locator(f".mlws-SecretRow[data-secret='{secret['name']}'] .mlws-SecretOwnerVM")
        assert mark.inner_text().strip() == f"· {expected}"
    assert secrets.locator(".mlws-SecretRow[data-secret='aws'] .mlws-SecretOwnerVM").count() == 0
    assert secrets.locator("#mlws-secret-names option").evaluate_all("os => os.map(o => o.value)") == ["aws"]
    page.screenshot(path=str(SCREENSHOTS / "secrets-vm.png"))
    secrets.locator(".mlws-OpenCompute").click()  # the page's own way to the compute page
    page.wait_for_selector(".mlws-VMRow[data-vm='box'][data-state='running']")

    # the form offers the user's secrets only; a refusal names the form's field, not the CLI flag
    page.locator(".mlws-NewVM").click()
    options = page.locator(".mlws-NewVM-credentials_secret option").all_inner_texts()
    assert options == ["(none)", "aws"], options
    page.locator(".mlws-NewVM-name").fill("box2")
    page.locator(".mlws-NewVM-idle_shutdown").fill("5 parsecs")
    page.locator(".mlws-NewVM-name").press("Enter")
    error = page.locator(".mlws-CreateVMError")
    error.wait_for()
    assert error.inner_text().startswith("Idle shutdown is a duration"), error.inner_text()
    assert "--" not in error.inner_text()
    page.locator(".mlws-CancelNewVM").click()

    # a failed VM without a node: Start and Stop disabled, saying to delete and create again;
    # its reason one line (the rest in its log): the row is as tall as box's
    broken = row(page, "broken")
    for action in ("start", "stop"):
        button = broken.locator(f".mlws-VM-{action}")
        assert not button.is_enabled()
        assert button.get_attribute("title") == ("broken failed and has no node any more (it was "
                                                 "destroyed): delete it and create it again")
    heights = [row(page, n).bounding_box()["height"] for n in ("box", "broken")]
    assert heights[1] < heights[0] * 1.5, heights
    page.screenshot(path=str(SCREENSHOTS / "vms-failed.png"))

    # the delete dialog's focus is on its Cancel ("Keep it"): Enter keeps the VM
    broken.locator(".mlws-DeleteVM").click()
    page.locator(".jp-Dialog").wait_for()
    page.wait_for_function("() => document.activeElement?.textContent.trim() === 'Keep it'")
    page.keyboard.press("Enter")
    page.locator(".jp-Dialog").wait_for(state="detached")
    assert lab_api(vm_lab, "GET", "vms/broken")[1]["state"] == "failed"

    # an idle warning, then box stopped elsewhere (its idle stop): the row shows it without
    # anyone acting here, and the warning goes (its Postpone would fail)
    publish_idle_warning(vm_lab, int((time.time() + 600) * 1000))
    toast = page.locator(".Toastify__toast", has_text="VM box stops at")
    toast.wait_for()
    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.stop("box", check_actor=False)
    page.wait_for_selector(".mlws-VMRow[data-vm='box'][data-state='stopped']", timeout=40_000)
    page.wait_for_selector(".mlws-NavVM[data-vm='box'][data-state='stopped']", timeout=60_000)
    toast.wait_for(state="detached", timeout=60_000)

    # Start shows the log (its startup, followed); deleting the VM whose log is shown closes it
    row(page, "box").locator(".mlws-VM-start").click()
    page.locator(".mlws-VMLog[data-vm='box']").wait_for()
    page.wait_for_selector(".mlws-VMRow[data-vm='box'][data-state='running']", timeout=120_000)
    row(page, "box").locator(".mlws-DeleteVM").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    row(page, "box").wait_for(state="detached", timeout=120_000)
    page.locator(".mlws-VMLog").wait_for(state="detached")
    with Workspace.open(vm_lab["ws"]) as ws:
        ws.vms.delete("broken", check_actor=False)
        ws.secrets.delete("alice", "aws", check_actor=False)
