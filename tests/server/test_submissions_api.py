"""POST /submissions/notebook and /submissions/command: a notebook or a command sent with its
project folder (multipart: a JSON ``submission`` and a tar ``project``), what ``mlws run
submit`` and ``mlws run start --compute`` send to a team server.  Contributors submit, readers
cannot; a bad submission is a 400 that records nothing and leaves no folder behind."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from test_roles import CONTRIBUTOR, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)

NOTEBOOK = (Path(__file__).parents[1] / "notebooks" / "train.ipynb").read_bytes()


def tar_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return out.getvalue()


def multipart(submission, project: bytes | None) -> tuple[bytes, dict]:
    from urllib3 import encode_multipart_formdata

    text = submission if isinstance(submission, str) else json.dumps(submission)
    fields = {"submission": ("submission.json", text.encode(), "application/json")}
    if project is not None:
        fields["project"] = ("project.tar", project, "application/x-tar")
    body, kind = encode_multipart_formdata(fields)
    return body, {"Content-Type": kind}


async def submit(api, route, submission, project, user=CONTRIBUTOR):
    body, headers = multipart(submission, project)
    return await api("POST", "submissions", route, body=body, headers=headers, user=user)


def _state(ws):
    return len(ws.search_runs(max_results=1000)), sorted(p.name for p in (ws.root / "work").glob("*"))


async def test_a_notebook_sent_with_its_folder_runs_from_a_copy_of_it(api, team, mlws_ws,
        contributors_run_locally):
    project = tar_of({"nb/train.ipynb": NOTEBOOK, "nb/data.csv": b"x\n1\n"})
    r = await submit(api, "notebook", {"notebook": "nb/train.ipynb", "parameters": {"lr": 0.5},
                                       "experiment": "sent"}, project, user=READER)
    assert r.code == 403 and r.json["reason"] == "permission_denied"
    r = await submit(api, "notebook", {"notebook": "nb/train.ipynb", "parameters": {"lr": 0.5},
                                       "experiment": "sent"}, project)
    assert r.code == 201, r
    run = mlws_ws.wait(r.json["id"], timeout=120)
    assert run.status == "completed" and run.params["lr"] == "0.5"
    assert run.record.source_name == "nb/train.ipynb"
    assert {f["path"] for f in run.files("snapshot")} == {"nb/train.ipynb", "nb/data.csv"}
    assert not list((mlws_ws.root / "work").glob("upload-*"))  # its scratch folder is gone


@pytest.mark.parametrize("submission, project, message", [
    ({"notebook": "other.ipynb"}, {"train.ipynb": NOTEBOOK}, "not among the files"),
    ({"notebook": "../train.ipynb"}, {"train.ipynb": NOTEBOOK}, ".."),
    ({"notebook": "train.ipynb"}, {"../escape.txt": b"x", "train.ipynb": NOTEBOOK}, ".."),
    ({"notebook": "train.ipynb", "parameters": {"1bad": 1}}, {"train.ipynb": NOTEBOOK}, "1bad"),
    ({"notebook": "train.ipynb", "compute": "nowhere"}, {"train.ipynb": NOTEBOOK}, "nowhere"),
    ({"notebook": "train.ipynb", "retries": 11}, {"train.ipynb": NOTEBOOK}, "retries"),
    ({"notebook": "train.ipynb"}, None, "'project' part"),
    ("{not json", {"train.ipynb": NOTEBOOK}, "JSON"),
])
async def test_a_bad_notebook_submission_is_refused_and_records_nothing(api, team, mlws_ws,
                                                                         submission, project,
                                                                         message):
    before = _state(mlws_ws)
    r = await submit(api, "notebook", submission, None if project is None else tar_of(project))
    assert r.code in (400, 404), r
    assert message in r.json["message"]
    assert _state(mlws_ws) == before


async def test_a_link_or_a_non_tar_project_is_refused(api, team, mlws_ws,
        contributors_run_locally):
    before = _state(mlws_ws)
    r = await submit(api, "notebook", {"notebook": "train.ipynb"},
                     tar_of({"train.ipynb": NOTEBOOK}, links={"passwd": "/etc/passwd"}))
    assert r.code == 201  # the link is left out: only regular files land
    assert "passwd" not in {f["path"] for f in mlws_ws.get_run(r.json["id"]).files("snapshot")}
    mlws_ws.wait(r.json["id"], timeout=120)
    before = _state(mlws_ws)
    r = await submit(api, "notebook", {"notebook": "train.ipynb"}, b"not a tar at all" * 100)
    assert r.code == 400 and "not a tar archive" in r.json["message"]
    r = await api("POST", "submissions", "notebook", body={"notebook": "train.ipynb"},
                  user=CONTRIBUTOR)
    assert r.code == 400 and "multipart/form-data" in r.json["message"]
    assert _state(mlws_ws) == before


async def test_files_beyond_the_snapshot_limit_are_refused(api, team, mlws_ws):
    toml = mlws_ws.root / "mlws.toml"  # read by the server when it opens the workspace: now
    toml.write_text(toml.read_text().replace("snapshot_max_mb = 300", "snapshot_max_mb = 1"))
    before = _state(mlws_ws)
    r = await submit(api, "notebook", {"notebook": "train.ipynb"},
                     tar_of({"train.ipynb": NOTEBOOK, "big.bin": bytes(2 << 20)}))
    assert r.code == 400 and "snapshot_max_mb" in r.json["message"]
    assert _state(mlws_ws) == before


async def test_a_command_submission_needs_a_target_other_than_local(api, team, mlws_ws):
    before = _state(mlws_ws)
    r = await submit(api, "command", {"argv": ["true"]}, None)
    assert r.code == 400 and "compute" in r.json["message"]
    r = await submit(api, "command", {"argv": ["true"], "compute": "nowhere"}, None)
    assert r.code == 404 and "nowhere" in r.json["message"]
    r = await submit(api, "command", {"argv": [], "compute": "nowhere"}, None)
    assert r.code == 400
    assert _state(mlws_ws) == before
