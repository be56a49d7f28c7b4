"""The OpenAPI document the server serves describes exactly the routes it registers."""

from __future__ import annotations

import re


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", template)


async def test_openapi_matches_the_registered_routes(api, routes, jp_base_url):
    r = await api("GET", "openapi.json")
    assert r.code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    assert doc["servers"][0]["url"] == jp_base_url.rstrip("/") + "/mlws/api"
    registered = {(_shape(t), m) for t, (_h, methods) in routes.items()
                  if _h.__name__ != "NotFoundHandler" for m in methods}
    documented = {(_shape(path), method) for path, ops in doc["paths"].items() for method in ops}
    assert registered - documented == set(), "routes missing from the OpenAPI document"
    assert documented - registered == set(), "documented paths that are not registered"
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, op in ops.items():
            assert "403" in op["responses"] and op["summary"]
            in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert in_path == names, (path, method)
