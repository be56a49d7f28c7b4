"""Versioned datasets: registering folders (hashes, the change-detection cache, uploads once per
content), versions and aliases, reading them back, tabular statistics, bad input, and a register
killed mid-upload.  Uploads are counted as objects appearing in the datastore's folder."""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws.cli import main as cli
from jupyter_mlws.datasets.hashcache import RACY_NS, Entry, trusted
from jupyter_mlws.errors import InvalidInput, NotFound

FILES = 10_000


def objects(ws) -> set[str]:
    """The objects stored in the default datastore (what an upload adds)."""
    root = ws.root / "datastores" / "default" / ".mlws" / "objects"
    return {p.parent.name + p.name for p in root.glob("??/*")}


def _write_tree(root: Path, count: int, size: int = 64) -> None:
    for i in range(count):
        folder = root / f"part{i // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(i.to_bytes(4, "big") * (size // 4))


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory) -> Path:
    """A folder of 10,000 small files, its modification times a few seconds in the past (as
    data is before it is registered, and outside the cache's racy window)."""
    root = tmp_path_factory.mktemp("big") / "data"
    _write_tree(root, FILES)
    past = time.time() - 10
    for path in root.rglob("*.bin"):
        os.utime(path, (past, past))
    return root


def test_ten_thousand_files_unchanged_changed_renamed(ws, big_tree):
    first = ws.datasets.register("big", big_tree, description="ten thousand", tags={"k": "v"})
    assert first.created and first.version.ref == "big:1"
    assert (first.version.file_count, first.uploaded_files) == (FILES, FILES)
    assert first.hashed_files == FILES and first.cached_files == 0
    assert len(objects(ws)) == FILES

    again = ws.datasets.register("big", big_tree)
    assert not again.created and again.version.ref == "big:1"
    assert again.message.startswith("big:1 unchanged: the same 10000 files") and "no new version" in again.message
    assert (again.hashed_files, again.cached_files, again.uploaded_files) == (0, FILES, 0)
    print(f"unchanged re-check of {FILES} files: {again.seconds:.3f} s")  # the time, recorded
    assert [v.version for v in ws.datasets.versions("big")] == [1]

    changed = big_tree / "part07" / "f03600.bin"
    changed.write_bytes(b"a new content")
    one = ws.datasets.register("big", big_tree)
    assert one.created and one.version.ref == "big:2"
    assert (one.hashed_files, one.uploaded_files, one.uploaded_bytes) == (1, 1, len(b"a new content"))
    assert len(objects(ws)) == FILES + 1

    (big_tree / "part03").rename(big_tree / "renamed03")
    renamed = ws.datasets.register("big", big_tree)
    assert renamed.created and renamed.version.ref == "big:3"
    assert (renamed.uploaded_files, renamed.uploaded_bytes) == (0, 0)
    assert renamed.hashed_files == 500  # renamed files are hashed again (the cache is by path)
    assert len(objects(ws)) == FILES + 1
    paths = [f["path"] for f in ws.dataset("big:3").files()]
    assert "renamed03/f01500.bin" in paths and "part03/f01500.bin" not in paths
    v1 = ws.dataset("big:1")
    assert (v1.description, v1.tags) == ("ten thousand", {"k": "v"})
    assert ws.dataset("big").version == 3


def test_root_hash_is_the_content_not_the_listing_order(ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "x").mkdir(parents=True)
        (root / "x" / "1.txt").write_text("one")
        (root / "2.txt").write_text("two")
    va = ws.datasets.register("a", a).version
    vb = ws.datasets.register("b", b).version
    assert va.root_hash == vb.root_hash and len(va.root_hash) == 64
    (b / "2.txt").write_text("TWO")
    assert ws.datasets.register("b", b).version.root_hash != va.root_hash


def test_going_back_to_older_content_is_a_new_latest_version(ws, tmp_path):
    (tmp_path / "d").mkdir()
    f = tmp_path / "d" / "x.txt"
    f.write_text("A")
    ws.datasets.register("d", tmp_path / "d")
    f.write_text("B")
    ws.datasets.register("d", tmp_path / "d")
    f.write_text("A")
    back = ws.datasets.register("d", tmp_path / "d")
    assert back.created and back.version.ref == "d:3" and back.uploaded_files == 0
    assert back.version.root_hash == ws.dataset("d:1").root_hash


def test_the_cache_trusts_only_files_older_than_their_hash():
    st = os.stat(__file__)
    base = Entry(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, "0" * 64, st.st_mtime_ns + RACY_NS)
    assert trusted(base, st)
    assert not trusted(base._replace(hashed_at_ns=st.st_mtime_ns + 1), st)  # racily clean
    assert not trusted(base._replace(size=st.st_size + 1), st)
    assert not trusted(base._replace(mtime_ns=st.st_mtime_ns - 1), st)
    assert not trusted(base._replace(ino=st.st_ino + 1), st)
    assert not trusted(None, st)


def test_a_file_changed_within_the_same_clock_tick_is_hashed_again(ws, tmp_path):
    folder = tmp_path / "tick"
    folder.mkdir()
    f = folder / "x.txt"
    f.write_text("aaaa")
    stamp = time.time_ns() + 60 * 10**9  # as if hashed in the very tick it was written
    os.utime(f, ns=(stamp, stamp))
    first = ws.datasets.register("tick", folder)
    f.write_text("bbbb")  # same size, and the same tick: the same mtime
    os.utime(f, ns=(stamp, stamp))
    second = ws.datasets.register("tick", folder)
    assert second.created and second.hashed_files == 1
    assert second.version.root_hash != first.version.root_hash


def test_reading_a_version_back(ws, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    version = ws.datasets.register("read", src).version
    assert [(f["path"], f["size"]) for f in version.files()] == [("a.txt", 5), ("sub/b.txt", 4)]
    with version.open("sub/b.txt") as f:
        assert f.read() == b"beta"
    with pytest.raises(NotFound, match="read:1 has no file 'c.txt'"):
        version.open("c.txt")

    dest = version.download(tmp_path / "dl")
    assert (dest / "sub" / "b.txt").read_text() == "beta"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dl.")]  # no temp left
    (dest / "a.txt").write_text("edited")
    version.download(dest, overwrite=True)  # over a folder holding files: each file rewritten
    assert (dest / "a.txt").read_text() == "alpha"
    with pytest.raises(InvalidInput, match="is a file"):
        version.download(dest / "a.txt")

    mounted = version.mount()
    assert (mounted / "sub" / "b.txt").read_text() == "beta"
    assert mounted.name == version.root_hash and mounted == version.mount()
    with pytest.raises(PermissionError):
        (mounted / "a.txt").write_text("x") if os.geteuid() else _raise_permission()
    assert not os.access(mounted / "a.txt", os.W_OK) or os.geteuid() == 0
    assert oct((mounted / "a.txt").stat().st_mode & 0o777) == "0o444"


def _raise_permission():
    raise PermissionError("root writes anywhere: the mode is checked instead")


def test_a_one_file_version_mounts_as_that_file(ws, tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n")
    version = ws.datasets.register("one", path).version
    assert [f["path"] for f in version.files()] == ["table.csv"]
    assert version.mount().read_text() == "a,b\n1,2\n"


def test_tabular_versions_record_schema_and_statistics(ws, tmp_path):
    pd = pytest.importorskip("pandas")
    src = tmp_path / "tab"
    src.mkdir()
    (src / "a.csv").write_text("x,y,z\n" + "".join(f"{i},{'ab'[i % 2]},\n" for i in range(60)))
    pd.DataFrame({"x": [float(i) for i in range(60, 100)], "y": ["a"] * 40, "z": [None] * 40}) \
        .to_parquet(src / "b.parquet")
    version = ws.datasets.register("tab", src, tabular=True).version
    stats = version.stats
    assert stats["format"] == "mixed" and stats["rows"] == 100
    assert [c["name"] for c in stats["columns"]] == ["x", "y", "z"]
    x, y, z = stats["features"]
    assert x["kind"] == "numeric" and x["min"] == 0 and x["max"] == 99 and x["count"] == 100
    assert y["kind"] == "categorical" and set(y["fractions"]) >= {"a", "b"}
    assert z["kind"] == "empty"
    frame = version.to_pandas()
    assert len(frame) == 100 and list(frame.columns) == ["x", "y", "z"]
    plain = ws.datasets.register("plain", src).version
    assert plain.stats is None
    with pytest.raises(InvalidInput, match="plain:1 is not tabular"):
        plain.to_pandas()


def test_bad_input_is_refused_with_nothing_recorded(ws, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match="holds no files to register"):
        ws.datasets.register("e", empty)
    with pytest.raises(NotFound, match="no file or folder at 'missing'"):
        ws.datasets.register("e", tmp_path / "missing")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("x")
    (notes / "b.csv").write_text("a\n1\n")
    with pytest.raises(InvalidInput, match=r"not tabular: a.txt is not .csv or .parquet"):
        ws.datasets.register("e", notes, tabular=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (notes / "link").symlink_to(outside)
    with pytest.raises(InvalidInput, match="'link' is a symlink leading out of the folder"):
        ws.datasets.register("e", notes)
    (notes / "link").unlink()
    (notes / "inner").symlink_to(notes / "a.txt")  # inside the tree: read as that file
    (notes / "loop").symlink_to(notes)
    done = ws.datasets.register("e", notes)
    assert [f["path"] for f in done.version.files()] == ["a.txt", "b.csv", "inner"]
    assert done.skipped == ["loop (a symlink to a folder: not followed)"]
    weird = tmp_path / "weird"
    weird.mkdir()
    (weird / "back\\slash.txt").write_text("x")
    with pytest.raises(InvalidInput) as refused:
        ws.datasets.register("w", weird)
    assert str(refused.value) == ("'back\\\\slash.txt' cannot be a dataset file's name (backslashes "
                                  "are not allowed, separate folders with '/'): rename it")
    with pytest.raises(InvalidInput, match="file:// URLs are absolute: file:///abs/path "
                                           "\\(file://data/... names a host\\)"):
        ws.datasets.register("e", "file://data/train")
    with pytest.raises(InvalidInput, match="dataset name '../x' is not valid"):
        ws.datasets.register("../x", notes)
    with pytest.raises(InvalidInput, match="registering from a s3:// URL is not supported yet"):
        ws.datasets.register("e", "s3://bucket/data")
    assert ws.datasets.register("e2", f"file://{notes}").version.file_count == 3
    ws.datasets.delete("e2:1")
    with pytest.raises(NotFound, match="no datastore 'nope'"):
        ws.datasets.register("e", notes, datastore="nope")
    assert [d["name"] for d in ws.datasets.list()] == ["e"]

    with pytest.raises(NotFound, match="no dataset named 'ghost'"):
        ws.dataset("ghost")
    with pytest.raises(NotFound, match="dataset 'e' has no version 7: 'mlws dataset versions e'"):
        ws.dataset("e:7")
    with pytest.raises(NotFound, match="dataset 'e' has no alias 'gold'"):
        ws.dataset("e@gold")
    for ref in ("../x", "e:0", "e:x", "e:1:2", ""):
        with pytest.raises(InvalidInput):
            ws.dataset(ref)


def test_aliases_and_deletion(ws, tmp_path):
    src = tmp_path / "s"
    src.mkdir()
    (src / "f").write_text("1")
    ws.datasets.register("al", src)
    (src / "f").write_text("2")
    ws.datasets.register("al", src)
    assert ws.datasets.set_alias("al", "golden", 1).ref == "al:1"
    assert ws.dataset("al@golden").aliases == ["golden"]
    with pytest.raises(InvalidInput, match="is a number"):
        ws.datasets.set_alias("al", "3", 1)
    with pytest.raises(InvalidInput, match="alias 'latest' is reserved: NAME alone is the latest"):
        ws.datasets.set_alias("al", "latest", 1)
    with pytest.raises(InvalidInput, match=r"al@golden is an alias \(of al:1\): delete that version "
                                           "with 'mlws dataset delete al:1', or remove the alias "
                                           "with 'mlws dataset alias al@golden --delete'"):
        ws.datasets.delete("al@golden")
    with pytest.raises(InvalidInput, match="'al' names the whole dataset \\(2 versions\\): delete one "
                                           "version by its number \\('mlws dataset delete al:2'\\), "
                                           "or every version with 'mlws dataset delete al "
                                           "--all-versions'"):
        ws.datasets.delete("al")
    with pytest.raises(InvalidInput, match="not al:1"):
        ws.datasets.delete("al:1", all_versions=True)
    assert [v.ref for v in ws.datasets.versions("al")] == ["al:2", "al:1"]  # nothing deleted
    assert ws.datasets.delete("al:1") == ["al:1"]
    with pytest.raises(NotFound, match="no alias 'golden'"):
        ws.dataset("al@golden")
    assert ws.dataset("al").ref == "al:2"
    ws.datasets.register("al", src)  # the same content as al:2: no new version
    (src / "f").write_text("3")
    ws.datasets.register("al", src)
    assert ws.datasets.delete("al", all_versions=True) == ["al:3", "al:2"]
    assert ws.datasets.list() == []


def test_a_register_killed_mid_upload_leaves_no_version(ws, tmp_path):
    src = tmp_path / "slow"
    _write_tree(src, 400, size=256 * 1024)
    code = ("import sys; from jupyter_mlws import Workspace\n"
            "Workspace.open(sys.argv[1]).datasets.register('slow', sys.argv[2])\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(ws.root), str(src)],
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.monotonic() + 120
    while len(objects(ws)) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(objects(ws))
    assert 0 < stored < 400, "the register ended before it could be killed mid-upload"
    with pytest.raises(NotFound, match="no dataset named 'slow'"):
        ws.dataset("slow")
    assert ws.datasets.list() == []
    again = ws.datasets.register("slow", src)
    assert again.created and again.version.ref == "slow:1"
    assert again.uploaded_files == 400 - stored  # what the killed one stored is reused
    assert len(objects(ws)) == 400


def test_cli(ws, tmp_path):
    src = tmp_path / "c"
    src.mkdir()
    (src / "t.csv").write_text("a,b\n1,x\n2,y\n3,x\n")
    run = CliRunner().invoke

    def ok(*args):
        result = run(cli, ["-w", str(ws.root), *args])
        assert result.exit_code == 0, result.output
        return result.output

    out = ok("dataset", "register", "cli", str(src), "--tabular", "--description", "d", "--tag", "a=b")
    assert out.startswith("registered cli:1 in datastore default: 1 file, 16 bytes, root ")
    assert "uploaded 1 object (16 bytes)" in out
    assert "no new version" in ok("dataset", "register", "cli", str(src))
    listed = json.loads(ok("dataset", "list", "--json"))
    assert [(d["name"], d["latest"], d["tabular"]) for d in listed] == [("cli", 1, True)]
    shown = ok("dataset", "show", "cli:1", "--files")
    assert "schema (csv, 3 rows):\n  a: number (mean 2" in shown and "  b: text (most frequent: x, y" in shown
    assert "models: -\nfiles (1):\n  t.csv (16 bytes, " in shown and "runs: -" in shown
    assert json.loads(ok("dataset", "show", "cli", "--json"))["tags"] == {"a": "b"}
    assert json.loads(ok("dataset", "versions", "cli", "--json"))[0]["version"] == 1
    assert ok("dataset", "alias", "cli@best", "1") == "cli@best -> cli:1\n"
    out = ok("dataset", "download", "cli@best", "-d", str(tmp_path / "out"))
    assert (tmp_path / "out" / "t.csv").read_text().startswith("a,b")
    bad = run(cli, ["-w", str(ws.root), "dataset", "show", "nope:1"])
    assert bad.exit_code == 3 and bad.output == "error: no dataset named 'nope': 'mlws dataset list' shows them\n"
    bad = run(cli, ["-w", str(ws.root), "dataset", "register", "x", str(tmp_path / "missing")])
    assert bad.exit_code == 3
    bad = run(cli, ["-w", str(ws.root), "dataset", "delete", "cli"])
    assert bad.exit_code == 2 and "'cli' names the whole dataset (1 version)" in bad.output
    bad = run(cli, ["-w", str(ws.root), "dataset", "delete", "cli", "--all-versions"], input="n\n")
    assert bad.exit_code == 1 and "delete all 1 version of dataset cli? [y/N]" in bad.output
    assert ws.dataset("cli").ref == "cli:1"  # nothing deleted
    assert ok("dataset", "delete", "cli", "--all-versions", "--yes") == "deleted cli:1\n"


def test_a_download_into_a_folder_holding_other_files_is_refused_unless_overwrite(ws, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a\n")
    (src / "sub" / "b.txt").write_text("b\n")
    ws.datasets.register("dl", src)
    out = tmp_path / "out"
    ws.dataset("dl").download(out)
    (out / "sub" / "b.txt").unlink()
    ws.dataset("dl").download(out)  # only the version's own files there: the missing one added
    assert (out / "sub" / "b.txt").read_text() == "b\n"
    (out / "a.txt").write_text("my edit\n")
    (out / "extra.txt").write_text("mine\n")
    with pytest.raises(InvalidInput, match="'.*out' holds files that are not dl:1's \\(a.txt, "
                                           "extra.txt\\): download into an empty or new folder, "
                                           "or give --overwrite"):
        ws.dataset("dl").download(out)
    assert (out / "a.txt").read_text() == "my edit\n"  # nothing written
    bad = CliRunner().invoke(cli, ["-w", str(ws.root), "dataset", "download", "dl", "-d", str(out)])
    assert bad.exit_code == 2 and "holds files that are not dl:1's (a.txt, extra.txt)" in bad.output
    done = CliRunner().invoke(cli, ["-w", str(ws.root), "dataset", "download", "dl", "-d", str(out),
                                    "--overwrite"])
    assert done.exit_code == 0, done.output
    assert (out / "a.txt").read_text() == "a\n" and (out / "extra.txt").read_text() == "mine\n"


def test_registering_one_file_keeps_the_cache_of_its_folders_other_files(ws, tmp_path):
    data = tmp_path / "data"
    (data / "big").mkdir(parents=True)
    for i in range(50):
        (data / "big" / f"{i}.txt").write_text(f"{i}\n")
    (data / "one.csv").write_text("x\n1\n")
    old = time.time() - 60  # older than any clock tick: trusted by the cache
    for path in data.rglob("*.*"):
        os.utime(path, (old, old))
    assert ws.datasets.register("big", data / "big").hashed_files == 50
    one = ws.datasets.register("one", data / "one.csv")
    assert (one.hashed_files, one.version.file_count) == (1, 1)
    assert ws.datasets.register("one", data / "one.csv").cached_files == 1
    again = ws.datasets.register("big", data / "big")
    assert (again.created, again.hashed_files, again.cached_files) == (False, 0, 50)


def test_the_cli_shows_upload_progress_and_splits_the_summary(ws, tmp_path, monkeypatch):
    from jupyter_mlws.cli import datasets as cli_datasets

    monkeypatch.setattr(cli_datasets._Progress, "EVERY_S", 0.0)  # every object, not every 3 s
    src = tmp_path / "p"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.txt").write_text("x" * (i + 1))
    done = CliRunner().invoke(cli, ["-w", str(ws.root), "dataset", "register", "p", str(src)])
    assert done.exit_code == 0, done.output
    assert "uploading: 3 of 3 objects (0.0 of 0.0 MB)\n" in done.stderr
    assert re.search(r"^hashed 3 files \(6 bytes\) in [0-9.]+ s, 0 unchanged since last hashed; "
                     r"uploaded 3 objects in [0-9.]+ s; [0-9.]+ s in all$", done.stdout, re.M)
