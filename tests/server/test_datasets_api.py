"""Datasets over REST through a real Jupyter server: register from the server's folder, unchanged
content, show with lineage, files (and one file's bytes), versions, aliases, delete refused while
used; bad input answered
400/404/409 with nothing changed; no server path in any answer."""

from __future__ import annotations

import json


async def test_datasets_over_rest(api, mlws_ws, jp_root_dir):
    data = jp_root_dir / "data" / "train"
    data.mkdir(parents=True)
    (data / "t.csv").write_text("x,y\n1,a\n2,b\n3,a\n")
    (jp_root_dir / "data" / "empty").mkdir()
    (jp_root_dir / "data" / "notes.txt").write_text("hello")
    replies = []

    async def call(*args, **kwargs):
        reply = await api(*args, **kwargs)
        replies.append(reply)
        return reply

    r = await call("POST", "datasets", body={"name": "train", "path": "data/train", "tabular": True,
                                             "tags": {"src": "lab"}, "description": "the table"})
    assert r.code == 201, r
    assert r.json["created"] and r.json["version"]["ref"] == "train:1"
    assert r.json["version"]["stats"]["rows"] == 3 and r.json["uploaded_files"] == 1
    assert r.json["version"]["source"] == "train"
    r = await call("POST", "datasets", body={"name": "train", "path": "data/train/"})
    assert r.code == 200 and not r.json["created"] and "no new version" in r.json["message"]
    r = await call("POST", "datasets", body={"name": "notes", "path": "data/notes.txt"})
    assert r.code == 201 and r.json["version"]["files"] == 1

    for body, code, message in (
            ({"name": "x", "path": "../outside"}, 400, "is not a path inside the server's folder"),
            ({"name": "x", "path": "/etc"}, 400, "is not a path inside the server's folder"),
            ({"name": "x", "path": "data/missing"}, 404, "no dataset folder or file 'data/missing'"),
            ({"name": "x", "path": "data/empty"}, 400, "holds no files to register"),
            ({"name": "x", "path": "data/notes.txt", "tabular": True}, 400, "not tabular: notes.txt"),
            ({"name": "../x", "path": "data/train"}, 400, "dataset name '../x' is not valid"),
            ({"name": "x", "path": "data/train", "datastore": "nope"}, 404, "no datastore 'nope'"),
            ({"name": "x"}, 400, "path"),
            ({"name": "x", "path": "data/train", "extra": 1}, 400, "extra")):
        r = await call("POST", "datasets", body=body)
        assert r.code == code and message in r.json["message"], (body, r)
    listed = (await call("GET", "datasets")).json["datasets"]
    assert [d["name"] for d in listed] == ["notes", "train"]

    with mlws_ws.experiment("e").start_run(snapshot=False) as run:
        mlws_ws.dataset("train").files()
    shown = (await call("GET", "datasets", "train:1")).json
    assert shown["tags"] == {"src": "lab"} and shown["description"] == "the table"
    assert shown["used_by"]["runs"] == [{"id": run.id, "name": run.name, "status": "completed",
                                         "how": "read"}]
    lineage = (await call("GET", "runs", run.id, "lineage")).json
    assert [(d["ref"], d["how"]) for d in lineage["datasets"]] == [("train:1", "read")]
    files = (await call("GET", "datasets", "train", "files")).json["files"]
    assert [(f["path"], f["size"]) for f in files] == [("t.csv", 16)]
    versions = (await call("GET", "datasets", "train", "versions")).json["versions"]
    assert [v["version"] for v in versions] == [1]
    r = await api("GET", "datasets", "train:1", "files", "t.csv")  # one file's bytes, streamed
    assert r.code == 200 and r.raw == b"x,y\n1,a\n2,b\n3,a\n"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    for parts, message in ((("train:1", "files", "nope.csv"), "train:1 has no file 'nope.csv'"),
                           (("train:9", "files", "t.csv"), "dataset 'train' has no version 9")):
        r = await call("GET", "datasets", *parts)
        assert r.code == 404 and message in r.json["message"], r
    r = await call("PUT", "datasets", "train", "aliases", "gold", body={"version": 1})
    assert r.code == 200 and r.json["aliases"] == ["gold"]
    assert (await call("GET", "datasets", "train@gold")).json["ref"] == "train:1"
    r = await call("PUT", "datasets", "train", "aliases", "gold", body={"version": 5})
    assert r.code == 404 and "has no version 5" in r.json["message"]
    r = await call("GET", "datasets", "train:9")
    assert r.code == 404 and r.json["message"] == ("dataset 'train' has no version 9: 'mlws dataset "
                                                   "versions train' lists them")
    r = await call("GET", "datasets", "ghost", "versions")
    assert r.code == 404
    r = await call("DELETE", "datasets", "train:1")
    assert r.code == 409 and f"train:1 was used by run {run.id}" in r.json["message"]
    assert mlws_ws.dataset("train:1").version == 1
    assert (await call("DELETE", "datasets", "train", "aliases", "gold")).code == 204
    r = await call("DELETE", "datasets", "notes")  # the whole dataset: only when asked so
    assert r.code == 400 and "'notes' names the whole dataset (1 version)" in r.json["message"]
    r = await call("DELETE", "datasets", "notes", params={"all_versions": "maybe"})
    assert r.code == 400 and r.json["message"] == "all_versions must be true or false, got 'maybe'"
    r = await call("DELETE", "datasets", "notes", params={"all_versions": "true"})
    assert r.code == 200 and r.json == {"deleted": ["notes:1"]}

    for reply in replies:  # never the server's folder, a mount or the workspace's path
        text = reply.raw.decode()
        assert str(jp_root_dir) not in text and str(mlws_ws.root) not in text, text
    assert all(json.loads(r.raw) is not None for r in replies if r.code != 204)


async def test_versions_and_files_come_in_pages(api, mlws_ws, tmp_path):
    """The Data page's long lists: a page of a version's files (by path) or of a dataset's
    versions (newest first) with the total; a bad page is a 400 saying what is allowed."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(7):
        (folder / f"f{i}.txt").write_text(f"file {i}")
    for n in range(3):
        (folder / "extra.txt").write_text(f"change {n}")
        mlws_ws.datasets.register("many", folder)

    r = await api("GET", "datasets", "many:3", "files", params={"offset": 2, "limit": 3})
    assert r.code == 200, r
    assert [f["path"] for f in r.json["files"]] == ["f1.txt", "f2.txt", "f3.txt"]
    assert r.json["total"] == 8 and r.json["files"][0]["size"] == len("file 1")
    whole = (await api("GET", "datasets", "many:3", "files")).json
    assert [f["path"] for f in whole["files"]][2:5] == ["f1.txt", "f2.txt", "f3.txt"]
    assert whole["total"] == len(whole["files"]) == 8
    assert (await api("GET", "datasets", "many", "files", params={"offset": 8})).json == {
        "files": [], "total": 8}

    r = await api("GET", "datasets", "many", "versions", params={"offset": 1, "limit": 1})
    assert r.code == 200 and [v["ref"] for v in r.json["versions"]] == ["many:2"]
    assert r.json["total"] == 3
    assert [v["version"] for v in (await api("GET", "datasets", "many", "versions")).json["versions"]] == [3, 2, 1]

    for path, params, message in (
            (("many", "versions"), {"limit": "0"}, "limit must be from 1 to 1000, got 0"),
            (("many", "versions"), {"limit": "1001"}, "limit must be from 1 to 1000, got 1001"),
            (("many", "versions"), {"offset": "-1"}, "offset must be from 0 to"),
            (("many:3", "files"), {"limit": "ten"}, "limit must be an integer, got 'ten'"),
            (("many:3", "files"), {"offset": "1.5"}, "offset must be an integer, got '1.5'")):
        r = await api("GET", "datasets", *path, params=params)
        assert r.code == 400 and message in r.json["message"], (path, params, r)
    r = await api("GET", "datasets", "ghost", "versions", params={"limit": 5})
    assert r.code == 404 and "no dataset named 'ghost'" in r.json["message"]
    r = await api("GET", "datasets", "many:9", "files", params={"limit": 5})
    assert r.code == 404 and "has no version 9" in r.json["message"]
    r = await api("GET", "datasets", "many", "versions", params={"limit": 5}, headers={"Authorization": ""})
    assert r.code in (401, 403)
