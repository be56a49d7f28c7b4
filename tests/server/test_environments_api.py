"""Environments over REST on a team server: reads for every role, builds and prunes for
contributors and owners, and bad input answered 400/404 with nothing changed."""

from __future__ import annotations

import sys

from sshd import connections_to
from test_roles import CONTRIBUTOR, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (the same team server)

from jupyter_mlws.environments.spec import EnvironmentSpec

PY = "%d.%d" % sys.version_info[:2]


async def test_environments_over_rest(api, team, mlws_ws, wheelhouse):
    spec = EnvironmentSpec(PY, ("six==1.16.0",))
    body = {"spec": spec.to_dict(), "no_index": True, "find_links": [str(wheelhouse)]}
    refused = await api("POST", "environments", "build", body=body, user=READER)
    assert refused.code == 403 and "contributor" in refused.json["message"]
    assert mlws_ws.environments.list() == []

    built = await api("POST", "environments", "build", body=body, user=CONTRIBUTOR)
    assert built.code == 200 and built.json["state"] == "ready" and not built.json["reused"]
    assert built.json["hash"] == spec.hash and built.json["created_by"] == CONTRIBUTOR
    for user in (READER, CONTRIBUTOR, OWNER):
        listed = await api("GET", "environments", params={"compute": "local"}, user=user)
        shown = await api("GET", "environments", spec.short_hash, user=user)
        assert listed.code == shown.code == 200
        assert [e["hash"] for e in listed.json["environments"]] == [spec.hash]
        assert shown.json["spec"]["packages"] == ["six==1.16.0"]
        for reply in (built, listed, shown):  # no path of the server's disk
            assert str(mlws_ws.root) not in reply.raw.decode(), reply.raw
        assert shown.json["targets"][0]["path"] == f".mlws/environments/envs/{spec.hash}"
    drift = await api("GET", "environments", "diff", user=READER)
    assert drift.code == 200 and drift.json["state"] == "differs"

    failed = await api("POST", "environments", "build", user=OWNER, body={
        "spec": EnvironmentSpec(PY, ("no-such-package-mlws==1.0",)).to_dict(), "no_index": True,
        "find_links": [str(wheelhouse)]})
    assert failed.code == 200 and failed.json["state"] == "failed"
    assert "no-such-package-mlws" in failed.json["error"]

    pruned = await api("POST", "environments", "prune", body={"unused_for": "1s"}, user=READER)
    assert pruned.code == 403
    kept = await api("POST", "environments", "prune", body={}, user=CONTRIBUTOR)
    assert kept.code == 200 and (kept.json["removed"], kept.json["errors"]) == ([], [])
    # the download cache is said, and kept without "cache": true
    [cache] = kept.json["cache"]
    assert cache["target"] == "local" and cache["cleared"] is False and cache["size_bytes"] >= 0
    emptied = await api("POST", "environments", "prune", body={"cache": True}, user=CONTRIBUTOR)
    assert emptied.code == 200 and [c["cleared"] for c in emptied.json["cache"]] == [True]


async def test_bad_environment_requests(api, team, mlws_ws):
    cases = [
        (("GET", "environments", "nothex"), None, 400, "is not an environment hash"),
        (("GET", "environments", "abcdef123456"), None, 404, "has been built"),
        (("POST", "environments", "prune"), {"unused_for": "soon"}, 400, "is not a duration"),
        (("POST", "environments", "prune"), {"cache": "yes"}, 400, "cache"),
        (("POST", "environments", "build"), {"spec": {"python": "3"}}, 400, "major.minor"),
        (("POST", "environments", "build"), {"installer": "conda"}, 400, "installer"),
        (("POST", "environments", "build"), {"compute": "mars", "kernel": "python3"}, 400,
         "no compute target 'mars'"),
        (("POST", "environments", "build"), {}, 400, "say which environment to build"),
        (("POST", "environments", "build"), {"run": "abcd", "kernel": "python3"}, 400, "one of run"),
        (("POST", "environments", "build"), {"run": "abcd"}, 404, "abcd"),
    ]
    for (method, *parts), body, code, text in cases:
        r = await api(method, *parts, body=body, user=OWNER)
        assert r.code == code, (parts, r)
        assert text in r.json["message"]
    r = await api("GET", "environments", "diff", params={"kernel": "no-such-kernel"}, user=READER)
    assert r.code == 400 and "no kernel named 'no-such-kernel'" in r.json["message"]
    assert mlws_ws.environments.list() == []


async def test_the_check_before_a_submission(api, team, mlws_ws, jp_root_dir, sshd):
    """GET environments/check: what the submit form shows before a notebook goes to a target,
    the same facts `mlws run submit` warns of (contributors: it reads the server's folder)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from jupyter_mlws.access import os_user
    from jupyter_mlws.environments.requires import python_warning
    from jupyter_mlws.environments.spec import current

    shutil.copy(Path(__file__).parents[1] / "notebooks" / "train.ipynb", jp_root_dir / "t.ipynb")
    mlws_ws.secrets.set(os_user(), "box-key", sshd.user.private_key)
    mlws_ws.compute.create("box", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                           key_secret="box-key", host_key=sshd.host_key, workdir="mlws-check",
                           check_actor=False)
    params = {"notebook": "t.ipynb", "compute": "box"}
    assert (await api("GET", "environments", "check", params=params, user=READER)).code == 403
    # env: system (the default): runs use the host's python3 as it is, compared with the kernel's
    r = await api("GET", "environments", "check", params=params, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["state"] == "differs" and r.json["target"] == "box", r.json
    assert r.json["system"] is True and r.json["closest"] is None
    assert r.json["lines"][0] == ("runs on box use the host's own Python (python3) and its packages, "
                                  "which differ from the kernel's:"), r.json["lines"]
    assert r.json["lines"][1].startswith("missing: ") and "nbclient" in str(r.json["difference"]["missing"])
    assert not any("build" in line for line in r.json["lines"]), r.json["lines"]
    # in one sentence, naming the differing packages the notebook imports (import jupyter_mlws)
    count = len(r.json["difference"]["missing"]) + len(r.json["difference"]["different"])
    assert r.json["imported"] == ["jupyter-mlws"], r.json
    assert r.json["summary"].endswith(f"{count} packages differ (1 the notebook imports: jupyter-mlws)")
    # a python the host does not have: the drift is not known, and nothing suggests a build
    mlws_ws.compute.create("nopy", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                           key_secret="box-key", host_key=sshd.host_key, workdir="mlws-check",
                           python="/nowhere/python3", check_actor=False)
    r = await api("GET", "environments", "check", params={**params, "compute": "nopy"}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["state"] == "differs", r.json
    assert r.json["lines"][0].startswith("runs on nopy use the host's own Python (/nowhere/python3) "
                                         "and its packages: how they differ from the kernel's is "
                                         "not known (/nowhere/python3 did not list its packages"), r.json
    assert "build" not in r.json["lines"][0]
    # env: build: the first run there builds the kernel's environment
    mlws_ws.compute.create("boxb", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                           key_secret="box-key", host_key=sshd.host_key, workdir="mlws-check",
                           env="build", check_actor=False)
    r = await api("GET", "environments", "check", params={**params, "compute": "boxb"}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["state"] == "none", r.json
    assert r.json["lines"][0] == (f"no environment is built on boxb: the first run there builds "
                                  f"{r.json['hash'][:16]} (or: mlws env build --compute boxb)")
    # the host's python3 is asked for its release: pins of the kernel's that need a newer one
    # are told up front (on a machine whose venv runs a newer Python than /usr/bin/python3)
    assert r.json["lines"][1:] == ([r.json["python_warning"]] if "python_warning" in r.json else [])
    host = subprocess.run(["python3", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    kernel = "%d.%d.%d" % sys.version_info[:3]
    if python_warning(host, kernel, "boxb", current().packages):
        assert r.json["python_warning"].startswith(f"boxb's Python is {host}, the kernel's {kernel}: ")
        assert "needs Python" in r.json["python_warning"]
    r = await api("GET", "environments", "check", params={"notebook": "t.ipynb"}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["state"] == "current" and r.json["lines"] == []
    # once answered, no request leaves a connection to the host open (checks, a target's test)
    assert connections_to(sshd.port) == 0
    r = await api("POST", "compute", "box", "test", user=CONTRIBUTOR)
    assert r.code == 200 and [c["check"] for c in r.json["checks"]][:2] == ["dns", "tcp"]
    assert connections_to(sshd.port) == 0
    for query, code, text in (({"notebook": "t.ipynb", "compute": "mars"}, 404, "no compute target 'mars'"),
                              ({"notebook": "gone.ipynb"}, 404, "gone.ipynb"),
                              ({"compute": "box"}, 400, "give the notebook")):
        r = await api("GET", "environments", "check", params=query, user=OWNER)
        assert r.code == code and text in r.json["message"], (query, r.json)


async def test_a_submission_to_a_target_that_cannot_be_reached(api, team, mlws_ws, jp_root_dir, sshd):
    """Nothing listens on the target's port: the check says the target is unreachable (its
    step and why, in details), and a submission is refused as `mlws run submit` refuses it
    (503, nothing recorded) unless the check is skipped (env_check false, --no-env-check)."""
    import shutil
    from pathlib import Path

    from mlws_testing import free_port

    from jupyter_mlws.access import os_user

    shutil.copy(Path(__file__).parents[1] / "notebooks" / "train.ipynb", jp_root_dir / "t.ipynb")
    mlws_ws.secrets.set(os_user(), "down-key", sshd.user.private_key)
    port = free_port()
    mlws_ws.compute.create("down", "ssh", host="127.0.0.1", port=port, user=sshd.user.name,
                           key_secret="down-key", host_key=sshd.host_key, workdir="mlws-down",
                           check_actor=False)
    r = await api("GET", "environments", "check", params={"notebook": "t.ipynb", "compute": "down"},
                  user=CONTRIBUTOR)
    assert r.code == 503, r.json
    reason = r.json["details"]["unreachable"]
    assert r.json["details"]["target"] == "down" and reason.startswith("the TCP connect step failed: ")
    assert r.json["message"].endswith(reason)
    body = {"notebook": "t.ipynb", "experiment": "down", "compute": "down"}
    r = await api("POST", "runs", body=body, user=CONTRIBUTOR)
    assert r.code == 503 and r.json["details"]["unreachable"] == reason, r.json
    assert mlws_ws.describe()["runs"] == 0  # refused before anything was recorded
    r = await api("POST", "runs", body={**body, "env_check": "no"}, user=CONTRIBUTOR)
    assert r.code == 400 and "env_check" in r.json["message"]
    r = await api("POST", "runs", body={**body, "env_check": False}, user=CONTRIBUTOR)
    assert r.code == 201, r.json  # recorded: its runner fails to connect, and ends it failed
    assert (await api("POST", "runs", r.json["id"], "cancel", user=CONTRIBUTOR)).code in (200, 409)
