"""The Access tab in a real JupyterLab and browser: an owner grants, changes and revokes roles,
and the last owner's removal is refused with the server's own message; users' API tokens as
the server lets each user see them (an owner: everyone's; a contributor or a reader: their
own), revoked after a confirmation, and a new one's value shown once, with Copy."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from mlws_testing import stop_jupyter

from .conftest import SCREENSHOTS, lab_api, start_team_lab


def _roles(page) -> dict[str, str]:
    rows = page.locator(".mlws-Roles tbody tr")
    return {rows.nth(i).get_attribute("data-user"): rows.nth(i).locator("td").nth(1).locator("select").input_value()
            for i in range(rows.count())}


def test_an_owner_manages_roles_from_the_sidebar(page, lab):
    page.locator('.jp-SideBar.jp-mod-left [data-id="mlws-sidebar"]').click()
    page.locator(".mlws-Tab", has_text="Access").click()
    page.locator(".mlws-Roles tbody tr").first.wait_for()
    start = lab_api(lab, "GET", "access")[1]
    [owner] = [a["user"] for a in start["assignments"]]  # the workspace's creator
    assert _roles(page) == {owner: "owner"}
    assert page.locator(".mlws-You").inner_text().endswith(": owner.")  # everyone, when not enforced
    assert "not enforced" in page.locator(".mlws-RolesNote").inner_text()  # a personal server

    # grant: the new row shows, and the server has it
    page.locator(".mlws-GrantUser").fill("alice")
    page.locator(".mlws-GrantForm select").select_option("contributor")
    page.locator(".mlws-GrantSubmit").click()
    page.locator(".mlws-Roles tr[data-user='alice']").wait_for()
    assert _roles(page) == {owner: "owner", "alice": "contributor"}
    assert page.locator(".mlws-GrantUser").input_value() == ""
    # change a role in place
    page.locator(".mlws-Roles tr[data-user='alice'] select").select_option("reader")
    page.wait_for_function(
        "document.querySelector(\".mlws-Roles tr[data-user='alice'] td:nth-child(3)\") && "
        "!document.querySelector('.mlws-Roles select:disabled')")
    assert {a["user"]: a["role"] for a in lab_api(lab, "GET", "access")[1]["assignments"]} == {
        owner: "owner", "alice": "reader"}
    # who granted a role and when, under the user's name; the table fits the sidebar, nothing cut
    alice = page.locator(".mlws-Roles tr[data-user='alice'] .mlws-Granted").inner_text()
    [granted] = [a for a in lab_api(lab, "GET", "access")[1]["assignments"] if a["user"] == "alice"]
    assert alice.startswith(f"by {granted['granted_by']} · since ")
    assert page.evaluate("""() => {
        const panel = document.querySelector('.mlws-Access');
        const controls = [...document.querySelectorAll('.mlws-Roles button, .mlws-Roles select')];
        const right = panel.getBoundingClientRect().right;
        return document.querySelector('.mlws-Roles').getBoundingClientRect().right <= right
            && controls.every(c => c.getBoundingClientRect().right <= right
                              && c.getBoundingClientRect().height < 32);  // one line each
    }""")
    page.screenshot(path=str(SCREENSHOTS / "access-roles.png"))

    # the last owner cannot go: the server's refusal, verbatim, and nothing changed
    page.locator(f".mlws-Roles tr[data-user='{owner}'] .mlws-Revoke").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()  # asked first: "Revoke owner's role?"
    error = page.locator(".mlws-AccessError")
    error.wait_for()
    refused = lab_api(lab, "DELETE", f"access/{owner}")
    assert refused[0] == 409 and error.inner_text() == refused[1]["message"]
    # revoke: asked first, and Cancel keeps the role
    page.locator(".mlws-Roles tr[data-user='alice'] .mlws-Revoke").click()
    dialog = page.locator(".jp-Dialog")
    assert dialog.locator(".jp-Dialog-header").inner_text() == "Revoke alice's role?"
    dialog.locator(".jp-mod-reject").click()
    dialog.wait_for(state="detached")
    assert "alice" in [a["user"] for a in lab_api(lab, "GET", "access")[1]["assignments"]]
    page.locator(".mlws-Roles tr[data-user='alice'] .mlws-Revoke").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".mlws-Roles tr[data-user='alice']").wait_for(state="detached")
    assert [a["user"] for a in lab_api(lab, "GET", "access")[1]["assignments"]] == [owner]


def _with_token(url: str, token: str) -> tuple[int, dict]:
    """GET mlws/api/workspace signed with a user's API token: (status, answer)."""
    req = urllib.request.Request(f"{url}mlws/api/workspace", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _open_access(page, url: str | None = None):
    """The sidebar's Access tab; with ``url``, on a fresh page at that address first (a layout
    of its own: no sidebar restored open)."""
    if url is not None:
        page.goto(url)
        page.wait_for_selector("#jp-main-dock-panel")
    page.locator('.jp-SideBar.jp-mod-left [data-id="mlws-sidebar"]').click()
    page.locator(".mlws-Tab", has_text="Access").click()
    page.locator(".mlws-TokensSection").wait_for()


def _fits(page) -> bool:
    """Whether the tokens table and its controls fit the sidebar, each control on one line."""
    return page.evaluate("""() => {
        const right = document.querySelector('.mlws-Access').getBoundingClientRect().right;
        const parts = [...document.querySelectorAll('.mlws-Tokens, .mlws-Tokens button, .mlws-TokenForm > *')];
        return parts.every(p => p.getBoundingClientRect().right <= right + 0.5)
            && [...document.querySelectorAll('.mlws-Tokens button')].every(b => b.getBoundingClientRect().height < 32);
    }""")


def test_an_owner_sees_every_token_revokes_one_and_makes_one_shown_once(page, lab):
    """Roles not enforced (a personal server): the browser's user acts as owner."""
    assert lab_api(lab, "PUT", "access/bob", {"role": "contributor"})[0] == 200
    made = lab_api(lab, "POST", "tokens", {"user": "bob", "note": "bob's laptop", "expires": "30d"})[1]
    old = lab_api(lab, "POST", "tokens", {"user": "bob", "note": "old ci"})[1]
    assert _with_token(lab["url"], made["token"])[0] == 200  # used once: "last used" shows it
    try:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        _open_access(page)
        row = page.locator(f".mlws-Tokens tr[data-token='{made['id']}']")
        row.wait_for()
        listed = {t["id"]: t for t in lab_api(lab, "GET", "tokens")[1]["tokens"]}
        assert row.locator(".mlws-TokenName").inner_text() == f"{made['id']} bob's laptop"
        assert row.locator(".mlws-TokenUser").inner_text() == "bob"
        dates = row.locator(".mlws-TokenDates").inner_text()
        assert dates.startswith("made ") and " · last used " in dates and " · expires " in dates, dates
        assert listed[made["id"]]["last_used_at"] is not None
        assert "never used" in page.locator(f".mlws-Tokens tr[data-token='{old['id']}'] .mlws-TokenDates").inner_text()
        assert made["token"] not in page.content() and old["token"] not in page.content()  # never a value
        assert _fits(page)

        # Revoke asks first: Cancel keeps the token
        row.locator(".mlws-RevokeToken").click()
        dialog = page.locator(".jp-Dialog")
        assert dialog.locator(".jp-Dialog-header").inner_text() == f"Revoke token {made['id']} of bob?"
        dialog.locator("button", has_text="Cancel").click()
        dialog.wait_for(state="detached")
        assert _with_token(lab["url"], made["token"])[0] == 200
        # ... and Revoke revokes it: the row says so, and the token is refused from then on
        row.locator(".mlws-RevokeToken").click()
        dialog.locator(".jp-mod-warn").click()
        page.locator(f".mlws-Tokens tr[data-token='{made['id']}'][data-state='revoked']").wait_for()
        assert row.locator(".mlws-RevokeToken").count() == 0
        assert row.locator(".mlws-TokenState").inner_text() == "revoked"
        assert " · revoked " in row.locator(".mlws-TokenDates").inner_text()
        refused = _with_token(lab["url"], made["token"])
        assert refused[0] in (401, 403), refused
        assert {t["id"]: t["state"] for t in lab_api(lab, "GET", "tokens")[1]["tokens"]}[made["id"]] == "revoked"

        # a new token for bob: its value once, with Copy, and it works
        page.locator(".mlws-TokenFor").select_option("bob")
        page.locator(".mlws-TokenExpires").select_option("7d")
        page.locator(".mlws-TokenNote").fill("notebook")
        page.locator(".mlws-MakeToken").click()
        shown = page.locator(".mlws-NewToken")
        shown.wait_for()
        assert "Copy it now: it will not be shown again." in shown.inner_text()
        value = shown.locator("input").input_value()
        assert value.startswith("mlws_user_")
        status, answer = _with_token(lab["url"], value)
        assert status == 200 and answer["you"]["user"] == "bob", answer
        [new] = [t for t in lab_api(lab, "GET", "tokens")[1]["tokens"] if t["note"] == "notebook"]
        assert new["user"] == "bob" and new["expires_at"] - new["created_at"] == 7 * 86400 * 1000
        page.locator(f".mlws-Tokens tr[data-token='{new['id']}']").wait_for()
        shown.locator(".mlws-CopyToken").click()
        page.locator(".mlws-CopyToken", has_text="Copied").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == value
        assert _fits(page)
        page.screenshot(path=str(SCREENSHOTS / "access.png"))
        # Done: the value is gone from the page, and nothing shows it again
        shown.locator(".mlws-DismissToken").click()
        shown.wait_for(state="detached")
        assert value not in page.content()
        _open_access(page, f"{lab['url']}lab/workspaces/tokens-again?token={lab['token']}")
        page.locator(f".mlws-Tokens tr[data-token='{new['id']}']").wait_for()
        assert value not in page.content() and made["token"] not in page.content()
    finally:
        for token in lab_api(lab, "GET", "tokens")[1]["tokens"]:
            lab_api(lab, "DELETE", f"tokens/{token['id']}")
        lab_api(lab, "DELETE", "access/bob")


@pytest.fixture(scope="module")
def team_lab(tmp_path_factory):
    """A ``jupyter lab`` applying roles whose token's user is "alice" (a contributor), on a
    workspace where alice and bob have a token each; yields url, token, workspace and the tokens."""
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user

    root = tmp_path_factory.mktemp("team-tokens")
    with Workspace.create(root / "ws") as ws:
        for user in ("alice", "bob"):
            ws.access.grant(os_user(), user, "contributor")
        tokens = {user: ws.access.tokens.create(user, note=f"{user}'s laptop") for user in ("alice", "bob")}
    server = start_team_lab(root)
    try:
        yield {"url": server.url, "token": server.token, "ws": root / "ws", "tokens": tokens}
    finally:
        stop_jupyter(server)


def test_a_contributor_sees_and_revokes_only_their_own_and_a_reader_only_sees_theirs(browser, team_lab):
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user

    alice, bob = team_lab["tokens"]["alice"], team_lab["tokens"]["bob"]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        _open_access(page, f"{team_lab['url']}lab/workspaces/tokens?token={team_lab['token']}")
        mine = page.locator(f".mlws-Tokens tr[data-token='{alice['id']}']")
        mine.wait_for()
        # alice's own only, as the server lists them to her; she may revoke it and make her own
        assert page.locator(".mlws-Tokens tbody tr").count() == 1
        assert page.locator(f".mlws-Tokens tr[data-token='{bob['id']}']").count() == 0
        assert page.locator(".mlws-TokensNote").inner_text().startswith("Your tokens")
        assert mine.locator(".mlws-RevokeToken").is_enabled()
        assert page.locator(".mlws-TokenFor").count() == 0  # for herself only: no user to pick
        page.locator(".mlws-TokenNote").fill("second")
        page.locator(".mlws-MakeToken").click()
        value = page.locator(".mlws-NewToken input").input_value()
        assert _with_token(team_lab["url"], value)[1]["you"] == {"user": "alice", "role": "contributor"}
        page.locator(".mlws-DismissToken").click()
        page.locator(".mlws-Tokens tbody tr").nth(1).wait_for()

        # a reader: her tokens, read only (an owner revokes them), and no New token
        with Workspace.open(team_lab["ws"]) as ws:
            ws.access.grant(os_user(), "alice", "reader")
        _open_access(page, f"{team_lab['url']}lab/workspaces/tokens-reader?token={team_lab['token']}")
        mine.wait_for()
        assert page.locator(".mlws-Tokens tbody tr").count() == 2
        assert page.locator(".mlws-RevokeToken").count() == 0
        assert page.locator(".mlws-Tokens .mlws-TokenState").all_inner_texts() == ["active", "active"]
        assert page.locator(".mlws-TokenForm").count() == 0
        assert bob["token"] not in page.content() and alice["token"] not in page.content()
    finally:
        context.close()
