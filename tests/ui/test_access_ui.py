"""The Access tab in a real JupyterLab and browser: an owner grants, changes and revokes roles,
and the last owner's removal is refused with the server's own message."""

from __future__ import annotations

from .conftest import SCREENSHOTS, lab_api


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
    page.screenshot(path=str(SCREENSHOTS / "access.png"))

    # the last owner cannot go: the server's refusal, verbatim, and nothing changed
    page.locator(f".mlws-Roles tr[data-user='{owner}'] .mlws-Revoke").click()
    error = page.locator(".mlws-AccessError")
    error.wait_for()
    refused = lab_api(lab, "DELETE", f"access/{owner}")
    assert refused[0] == 409 and error.inner_text() == refused[1]["message"]
    # revoke
    page.locator(".mlws-Roles tr[data-user='alice'] .mlws-Revoke").click()
    page.locator(".mlws-Roles tr[data-user='alice']").wait_for(state="detached")
    assert [a["user"] for a in lab_api(lab, "GET", "access")[1]["assignments"]] == [owner]
