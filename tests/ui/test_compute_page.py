"""The Compute and Secrets pages in a real JupyterLab and Chromium, on a team's server (workspace
roles applied): the navigator lists the targets; a dask target created through the form and
tested (its TCP step fails, as the REST answer says); an ssh target against a real sshd created
through the host key's fingerprint confirmation, then tested all OK; a refused delete shown
verbatim, then a delete; a reader's controls disabled; a secret set from the page (never in the
page or any answer), deleted and recovered; the owners' audit log."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest
from mlws_testing import stop_jupyter

from .conftest import CHROMIUM, NAMED_USER, SCREENSHOTS, start_team_lab  # noqa: F401 (test_vms_ui imports NAMED_USER from here)
from .test_compare import _our_scripts

KEY = "box-key"
CANARY = "pw-CANARY-7341-secret"
READER_TITLE = "needs the contributor role (you are a reader)"
#: a string only the pages' lazily loaded chunk holds (as bench/bundle.py knows it)
LAZY = "The fingerprint matches"


def chunks() -> set[str]:
    import jupyter_mlws

    static = Path(jupyter_mlws.__file__).parent / "labextension" / "static"  # the build under test
    found = {p.name for p in static.glob("*.js") if LAZY in p.read_text()}
    assert found
    return found




@pytest.fixture(scope="module")
def team_lab(tmp_path_factory, sshd):
    """``jupyter lab`` applying workspace roles, on a workspace whose secret ``box-key`` holds the
    sshd's login key and whose ``old-token`` is deleted; yields url, token and the folder."""
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("compute-lab")
    with Workspace.create(root / "ws") as ws:
        ws.secrets.set(os_user(), KEY, sshd.user.private_key)
        ws.secrets.set(os_user(), "old-token", "an-old-token-value")
        ws.secrets.delete(os_user(), "old-token")
    server = start_team_lab(root)  # whoever has the token is "alice"
    try:
        yield {"url": server.url, "token": server.token, "ws": root / "ws", "log": server.log}
    finally:
        stop_jupyter(server)


@pytest.fixture
def page(browser, team_lab):
    """A fresh page at JupyterLab (its own lab workspace), with the navigator open; the Jupyter
    user is an owner of the workspace unless a test says otherwise."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{team_lab['url']}lab/workspaces/compute-{id(page)}?mlws=open&token={team_lab['token']}")
    page.wait_for_selector("#jp-main-dock-panel")
    team_lab["user"] = page.evaluate("fetch('/api/me').then(r => r.json()).then(me => me.identity.username)")
    grant(team_lab, "owner")
    page.reload()  # the navigator's first lists were fetched before the user had a role
    page.wait_for_selector("#jp-main-dock-panel")
    yield page
    context.close()


def grant(team_lab, role: str) -> None:
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user

    with Workspace.open(team_lab["ws"]) as ws:
        ws.access.grant(os_user(), team_lab["user"], role)


def api(page, method: str, path: str, body=None):
    """Call an API path as the page's user (its cookie, Jupyter's XSRF header): (status, JSON)."""
    return tuple(page.evaluate("""async ([method, path, body]) => {
        const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1];
        const r = await fetch('/mlws/api/' + path, {
            method, body: body === null ? undefined : JSON.stringify(body),
            headers: xsrf ? {'X-XSRFToken': decodeURIComponent(xsrf)} : {}});
        const text = await r.text();
        return [r.status, text ? JSON.parse(text) : null];
    }""", [method, path, body]))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def open_compute(page):
    page.locator(".mlws-Navigator .mlws-OpenCompute").click()
    view = page.locator("#jp-main-dock-panel .mlws-ComputePage:not(.mlws-TargetPage)")
    view.locator(".mlws-TargetRow[data-target='local']").wait_for()
    return view


def checks_of(row) -> list[tuple[str, str, str]]:
    cells = row.locator(".mlws-Check")
    return [(cells.nth(i).locator("td").nth(0).inner_text(), cells.nth(i).locator("td").nth(1).inner_text(),
             cells.nth(i).locator("td").nth(2).inner_text()) for i in range(cells.count())]


def fill_form(view, type_: str, **fields) -> None:
    view.locator(".mlws-NewTarget").click()
    form = view.locator(".mlws-NewTargetForm")
    form.locator(".mlws-NewTarget-type").select_option(type_)
    for name, value in fields.items():
        field = form.locator(f".mlws-NewTarget-{name}")
        if name in ("key_secret", "env"):
            field.select_option(value)
        else:
            field.fill(str(value))
    form.locator(".mlws-CreateTarget").click()


def fields_cut(form) -> list[str]:
    """The form's fields whose value (or, empty, placeholder; a select's chosen option) does not
    show whole, as ``class: text``."""
    return form.evaluate("""f => {
        const ctx = document.createElement('canvas').getContext('2d');
        return [...f.querySelectorAll('input:not([type=checkbox]), select')].filter(e => {
            const cs = getComputedStyle(e);
            ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
            const text = e.tagName === 'SELECT' ? e.options[e.selectedIndex].text : e.value || e.placeholder;
            const room = e.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)
                - (e.tagName === 'SELECT' ? 20 : 0);  // a select's arrow
            return ctx.measureText(text).width > room;
        }).map(e => `${e.className}: ${e.value || e.placeholder}`);
    }""")


def test_targets_in_the_navigator_a_dask_target_created_and_tested(page, team_lab):
    nav = page.locator(".mlws-Navigator .mlws-NavTarget")
    nav.first.wait_for()
    assert nav.first.get_attribute("data-target") == "local"  # local first
    assert "this machine" in nav.first.inner_text()
    assert page.locator(".mlws-NavSecrets").inner_text().endswith("1 secret")  # old-token is deleted
    page.wait_for_load_state("networkidle")
    at_start = _our_scripts(page)  # the pages' modules load when first opened, not with JupyterLab
    assert at_start and not chunks() & at_start

    view = open_compute(page)
    assert chunks() <= _our_scripts(page)
    port = closed_port()
    fill_form(view, "dask", name="cluster", address=f"tcp://127.0.0.1:{port}", env="build",
              secrets=f"{KEY}=BOX_KEY")
    row = view.locator(".mlws-TargetRow[data-target='cluster']")
    row.wait_for()
    assert view.locator(".mlws-NewTargetForm").count() == 0  # the form closed
    created = api(page, "GET", "compute/cluster")[1]  # what the form's env and secrets fields sent
    assert created["env"] == "build" and created["secrets"] == {"BOX_KEY": KEY}
    assert row.locator(".mlws-TargetWhere").inner_text() == f"tcp://127.0.0.1:{port}"
    assert row.locator(".mlws-TargetCreated").inner_text().startswith(team_lab["user"] + " · ")
    assert row.locator(".mlws-TargetLastTest").inner_text() == "not tested"
    # the navigator follows this browser's change (no server event for targets, nothing polls)
    page.locator(".mlws-NavTarget[data-target='cluster']", has_text=f"dask 127.0.0.1:{port}").wait_for()

    row.locator(".mlws-TestTarget").click()
    row.locator(".mlws-Checks").wait_for()
    reported = api(page, "POST", "compute/cluster/test", {})[1]
    assert reported["ok"] is False
    assert checks_of(row) == [(c["title"], c["status"].upper(), c["detail"]) for c in reported["checks"]]
    assert [(t, s) for t, s, _ in checks_of(row)] == [("DNS", "OK"), ("TCP connect", "FAIL"),
                                                      ("Dask scheduler", "SKIP"),
                                                      ("jupyter_mlws", "SKIP")]
    assert row.locator(".mlws-TargetLastTest").inner_text().startswith("FAIL: TCP connect")
    page.locator(".mlws-NavTarget[data-target='cluster'] .mlws-Dot.mlws-test-fail").wait_for()


def test_an_ssh_target_created_after_its_fingerprint_is_confirmed_then_tested(page, team_lab, sshd):
    from jupyter_mlws import Workspace
    from jupyter_mlws.compute.ssh.hostkeys import HostKey

    view = open_compute(page)
    fill_form(view, "ssh", name="box", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
              key_secret=KEY, python=sshd.user.python, keepalive=7)
    # the server fetched the host's key and created nothing: its fingerprint, to be checked
    check = view.locator(".mlws-HostKeyCheck")
    check.wait_for()
    # every field shows its value (the Python's path) or its placeholder whole
    assert fields_cut(view.locator(".mlws-NewTargetForm")) == []
    page.screenshot(path=str(SCREENSHOTS / "compute-new-target.png"))
    shown = HostKey(*sshd.host_key.split()).fingerprint
    assert check.locator(".mlws-Fingerprint").inner_text() == shown
    assert f"[127.0.0.1]:{sshd.port}" in check.inner_text() and "ssh-ed25519" in check.inner_text()
    assert [t["name"] for t in api(page, "GET", "compute")[1]["targets"]] == ["local", "cluster"]
    assert check.locator(".mlws-ConfirmHostKey").evaluate("b => b === document.activeElement")
    page.screenshot(path=str(SCREENSHOTS / "compute-host-key.png"))
    check.locator(".mlws-ConfirmHostKey").click()

    row = view.locator(".mlws-TargetRow[data-target='box']")
    row.wait_for()
    assert api(page, "GET", "compute/box")[1]["host_key_fingerprint"] == shown
    assert row.locator(".mlws-TargetWhere").inner_text() == f"{sshd.user.name}@127.0.0.1:{sshd.port}"
    row.locator(".mlws-TestTarget").click()
    row.locator(".mlws-Checks").wait_for()
    # (automl SKIP: the host's Python has no FLAML; notebook runs still work there)
    assert [(t, s) for t, s, _ in checks_of(row)] == [
        (t, "OK") for t in ("DNS", "TCP connect", "SSH handshake", "host key", "authentication",
                            "python", "jupyter_mlws")] + [("automl", "SKIP"), ("disk", "OK")]
    assert f"{shown} as pinned" in row.locator(".mlws-Check[data-check='host_key']").inner_text()
    page.locator(".mlws-NavTarget[data-target='box'] .mlws-Dot.mlws-test-ok").wait_for()
    # the navigator tells ssh targets apart: user@host:port (the port only when not 22)
    nav_box = page.locator(".mlws-NavTarget[data-target='box'] .mlws-NavDetail")
    assert nav_box.inner_text() == f"{sshd.user.name}@127.0.0.1:{sshd.port}"
    assert nav_box.get_attribute("title") == f"ssh {sshd.user.name}@127.0.0.1:{sshd.port}"
    cluster = view.locator(".mlws-TargetRow[data-target='cluster']")
    cluster.locator(".mlws-TestTarget").click()
    cluster.locator(".mlws-Check[data-status='fail']").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "compute-page.png"))

    # a target with a running run: the server's refusal, verbatim, and nothing deleted
    with Workspace.open(team_lab["ws"]) as ws:
        with ws.experiment("busy").start_run("on-box", snapshot=False, outputs=None) as run:
            ws.compute.assign(run.id, "box")
            row.locator(".mlws-DeleteTarget").click()
            page.locator(".jp-Dialog .jp-mod-warn", has_text="Delete").click()
            error = row.locator(".mlws-TargetRefusal")
            error.wait_for()
            refused = api(page, "DELETE", "compute/box")
            assert refused[0] == 409 and error.inner_text() == refused[1]["message"]
            assert "queued or running runs" in error.inner_text()
    # a target's own page; then deleted from there
    row.locator(".mlws-TargetOpen").click()
    one = page.locator("#jp-main-dock-panel .mlws-TargetPage[data-target='box']")
    one.locator(".mlws-TargetSettings tr[data-key='Host key']", has_text=shown).wait_for()
    assert one.locator(".mlws-Check").count() == 9  # its last test, from this browser (automl: SKIP)
    settings = {r.get_attribute("data-key"): r.locator("td").inner_text()
                for r in one.locator(".mlws-TargetSettings tr").all()}
    assert settings["Keepalive"] == "7 s" and settings["Secrets for its runs"] == "none"
    assert settings["Runs execute with"] == f"system: the host's Python ({sshd.user.python}) as it is"
    assert one.locator(".mlws-TargetEnvNote").inner_text().startswith(
        "Runs use the host's Python as it is: nothing is built")
    # the dask target's page: what its runs execute with, the secrets it gives them
    page.locator(".mlws-NavTarget[data-target='cluster'] .mlws-NavOpen").click()
    dask = page.locator("#jp-main-dock-panel .mlws-TargetPage[data-target='cluster']")
    dask.locator(".mlws-TargetSettings tr[data-key='Secrets for its runs']", has_text="box-key as BOX_KEY").wait_for()
    assert dask.locator(".mlws-TargetSettings tr[data-key='Runs execute with'] td").inner_text().startswith(
        "build: each run's kernel environment, built on the worker's machine")
    assert "they are not listed here" in dask.locator(".mlws-TargetEnvNote").inner_text()
    page.locator(".lm-TabBar-tab", has_text="Compute box").click()
    one.wait_for()
    one.locator(".mlws-DeleteTarget").click()
    page.locator(".jp-Dialog .jp-mod-warn", has_text="Delete").click()
    one.locator(".mlws-Empty", has_text="box was deleted.").wait_for()
    page.locator(".mlws-NavTarget[data-target='box']").wait_for(state="detached")
    assert [t["name"] for t in api(page, "GET", "compute")[1]["targets"]] == ["local", "cluster"]


def test_a_reader_sees_no_control_enabled(page, team_lab):
    grant(team_lab, "reader")
    view = open_compute(page)
    view.locator(".mlws-RoleNote", has_text="you are a reader").wait_for()
    new = view.locator(".mlws-NewTarget")
    assert new.is_disabled() and READER_TITLE in new.get_attribute("title")
    buttons = view.locator(".mlws-TestTarget, .mlws-DeleteTarget")
    assert buttons.count() >= 2
    for button in buttons.all():
        assert button.is_disabled() and READER_TITLE in button.get_attribute("title")
    view.locator(".mlws-OpenSecrets").click()
    secrets = page.locator("#jp-main-dock-panel .mlws-SecretsPage")
    secrets.locator(".mlws-SecretRow[data-secret='box-key']").wait_for()
    controls = secrets.locator(".mlws-SecretForm input, .mlws-SecretForm button, .mlws-SecretActions button")
    assert controls.count() >= 7
    assert all(c.is_disabled() for c in controls.all())
    assert "Setting, deleting and recovering secrets needs the contributor role" in secrets.locator(
        ".mlws-DeleteSecret").get_attribute("title")
    assert "for owners" in secrets.locator(".mlws-AuditNote").inner_text()  # no audit asked for


def test_a_secret_set_from_the_page_never_shows_deleted_and_recovered(page, team_lab):
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.locator(".mlws-NavSecrets .mlws-NavOpen").click()
    view = page.locator("#jp-main-dock-panel .mlws-SecretsPage")
    view.locator(".mlws-SecretRow[data-secret='old-token'][data-state='deleted']").wait_for()
    assert "purged " in view.locator(".mlws-SecretRow[data-secret='old-token']").inner_text()

    view.locator(".mlws-SecretName").fill("api-token")
    view.locator(".mlws-SecretValue").fill(CANARY)
    view.locator(".mlws-SetSecret").click()
    row = view.locator(".mlws-SecretRow[data-secret='api-token'][data-state='active']")
    row.wait_for()
    assert row.locator(".mlws-SecretVersion").inner_text() == "1"
    assert view.locator(".mlws-Stored").inner_text() == "Stored api-token version 1."
    assert view.locator(".mlws-SecretValue").input_value() == ""  # emptied once sent
    page.locator(".mlws-NavSecrets", has_text="2 secrets").wait_for()

    # a new version from the row's button
    row.locator(".mlws-NewVersion").click()
    assert view.locator(".mlws-SecretName").input_value() == "api-token"
    assert view.locator(".mlws-SecretValue").evaluate("e => e === document.activeElement")
    page.keyboard.type(CANARY[::-1])
    page.keyboard.press("Enter")
    row.locator(".mlws-SecretVersion", has_text="2").wait_for()

    # delete (confirmed), then recover
    row.locator(".mlws-DeleteSecret").click()
    page.locator(".jp-Dialog .jp-mod-warn", has_text="Delete").click()
    deleted = view.locator(".mlws-SecretRow[data-secret='api-token'][data-state='deleted']")
    deleted.wait_for()
    assert f"deleted by {team_lab['user']}" in deleted.inner_text()
    assert api(page, "GET", "secrets/api-token")[1]["state"] == "deleted"
    deleted.locator(".mlws-RecoverSecret").click()
    row.wait_for()
    assert api(page, "GET", "secrets/api-token")[1]["state"] == "active"

    # the owners' audit log: who did what, when, from which run; values never
    audit = view.locator(".mlws-AuditTable")
    audit.locator(".mlws-AuditEntry[data-secret='api-token'][data-action='recover']").wait_for()
    actions = [e["action"] for e in api(page, "GET", "secrets-audit?secret=api-token")[1]["entries"]]
    assert actions == ["recover", "delete", "set", "set"]
    assert audit.locator(".mlws-AuditEntry[data-secret='box-key'][data-action='read']").count() >= 1  # the ssh test's
    view.locator(".mlws-AuditOf").select_option("api-token")
    view.locator(".mlws-AuditEntry[data-secret='box-key']").first.wait_for(state="detached")
    assert view.locator(".mlws-AuditEntry").count() == 4
    view.locator(".mlws-AuditOf").select_option("")
    view.locator(".mlws-AuditEntry[data-secret='box-key']").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "secrets-page.png"))

    # an owner purges a deleted secret for good
    old = view.locator(".mlws-SecretRow[data-secret='old-token']")
    old.locator(".mlws-PurgeSecret").click()
    page.locator(".jp-Dialog .jp-mod-warn", has_text="Purge").click()
    old.wait_for(state="detached")
    assert api(page, "GET", "secrets/old-token")[0] == 404

    # the value is nowhere: not in the page's DOM (text, attributes, field values), not in any answer
    answers = [r.text() for r in responses if r.request.method != "OPTIONS" and r.status not in (204, 301, 302, 304)]
    assert any("mlws/api/secrets" in r.url for r in responses)
    for value in (CANARY, CANARY[::-1]):
        assert value not in page.content()
        assert not page.evaluate("v => [...document.querySelectorAll('input, textarea')].some(i => i.value.includes(v))",
                                 value)
        assert [text[:80] for text in answers if value in text] == []
    assert len(answers) > 10  # the listener saw the page's answers
    assert CANARY not in Path(team_lab["log"]).read_text(errors="replace")


def test_the_compute_page_in_the_dark_theme(page, team_lab):
    import json

    body = json.dumps({"raw": json.dumps({"theme": "JupyterLab Dark"})}).encode()
    req = urllib.request.Request(f"{team_lab['url']}lab/api/settings/@jupyterlab/apputils-extension:themes",
                                 data=body, method="PUT", headers={"Authorization": f"token {team_lab['token']}",
                                                                   "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204
    page.reload()
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    view = open_compute(page)
    row = view.locator(".mlws-TargetRow[data-target='local']")
    row.locator(".mlws-TestTarget").click()
    row.locator(".mlws-Checks").wait_for()
    # the OK badges in the theme's success colour, on its dark background
    color = page.evaluate("getComputedStyle(document.body).getPropertyValue('--jp-success-color1').trim()")
    badge = row.locator(".mlws-CheckStatus.mlws-check-ok").first
    assert badge.evaluate("b => getComputedStyle(b).color") == page.evaluate(
        "c => { const e = document.createElement('span'); e.style.color = c; document.body.append(e); "
        "const v = getComputedStyle(e).color; e.remove(); return v; }", color)
    page.screenshot(path=str(SCREENSHOTS / "compute-page-dark.png"))
