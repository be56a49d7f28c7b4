"""Every route the extension registers demands authentication; unknown routes are denied."""

from __future__ import annotations

import re


def _concrete(template: str) -> list[str]:
    """Sample paths for a template: each choice of a {name:a|b} parameter, 'x' for the rest."""
    paths = [template]
    for name, choices in re.findall(r"\{(\w+)(?::([^}]*))?\}", template):
        values = choices.split("|") if choices else ["x"]
        paths = [p.replace(re.search(r"\{" + name + r"[^}]*\}", p).group(0), v, 1)
                 for p in paths for v in values]
    return paths


async def test_no_route_answers_without_auth(api, routes):
    assert len(routes) > 15
    checked = 0
    for template, (handler, methods) in routes.items():
        for method in methods:
            for path in _concrete(template.replace("{rest:/.*}?", "/anything")):
                parts = [p for p in path.split("/") if p]
                r = await api(method.upper(), *parts, headers={"Authorization": ""})
                assert r.code in (401, 403, 302), (method, path, r)
                assert r.code != 200
                checked += 1
    assert checked > 25


async def test_every_handler_is_authenticated_and_authorized(mlws_app):
    from tornado.web import RequestHandler

    assert len(mlws_app.handlers) > 15
    for _pattern, handler, *_ in mlws_app.handlers:  # the API's, and the page's
        assert handler.auth_resource.startswith("mlws:"), handler
        for method in [m for m in ("get", "post", "put", "patch", "delete", "head")
                       if getattr(handler, m) is not getattr(RequestHandler, m)]:
            fn = getattr(handler, method)
            # @web.authenticated wraps @authorized wraps the method: both leave their mark
            assert fn.__wrapped__ is not None, (handler, method)
            assert getattr(fn.__wrapped__, "__wrapped__", None) is not None, (handler, method)


async def test_a_bad_token_is_refused(api):
    r = await api("GET", "workspace", headers={"Authorization": "token wrong"})
    assert r.code == 403 and r.json["reason"] == "permission_denied"


async def test_the_workspace_page_and_its_script_need_sign_in(jp_fetch):
    for parts in (("mlws", ""), ("mlws",), ("mlws", "static", "mlws.js"), ("mlws", "static", "x")):
        r = await jp_fetch(*parts, headers={"Authorization": ""}, raise_error=False,
                           follow_redirects=False)
        assert r.code in (302, 403), (parts, r.code)  # 302: to the login page
        assert b"mlws" not in r.body or b"login" in r.body


async def test_xsrf_and_origin_are_checked_as_jupyter_does(jp_serverapp, http_server_client, jp_base_url,
                                                           mlws_ws):
    """A browser session (cookie sign-in) must send the _xsrf token with a change, and a page of
    another origin cannot use the session; the workspace adds no exception."""
    from http.cookies import SimpleCookie

    client, base = http_server_client, jp_base_url
    token = jp_serverapp.identity_provider.token
    # sign in as a browser does: the token once in the URL, then cookies (login and _xsrf)
    r = await client.fetch(f"{base}mlws/?token={token}", follow_redirects=False, raise_error=False)
    assert r.code == 200, r.code
    jar = SimpleCookie()
    for header in r.headers.get_list("Set-Cookie"):
        jar.load(header)
    assert "_xsrf" in jar
    cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())

    async def grant(user, **headers):
        return await client.fetch(f"{base}mlws/api/access/{user}", method="PUT", body='{"role": "reader"}',
                                  headers={"Cookie": cookie, **headers}, raise_error=False)

    assert (await client.fetch(f"{base}mlws/api/workspace", headers={"Cookie": cookie})).code == 200
    assert (await grant("x1")).code == 403  # no XSRF token: refused, nothing granted
    assert (await grant("x2", **{"X-XSRFToken": "forged"})).code == 403
    assert (await grant("x3", **{"X-XSRFToken": jar["_xsrf"].value, "Origin": "http://evil.example"})).code in (403, 404)
    assert [a["user"] for a in mlws_ws.access.assignments() if a["user"].startswith("x")] == []
    assert (await grant("x4", **{"X-XSRFToken": jar["_xsrf"].value})).code == 200
    assert mlws_ws.access.role_of("x4") == "reader"
