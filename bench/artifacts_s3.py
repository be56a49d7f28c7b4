"""Artifacts on S3: upload and download speed through the workspace, beside plain s3fs.

A real S3 API (``moto_server`` on 127.0.0.1, a process of its own) holds a workspace's artifacts
(``artifacts = s3://BUCKET/PREFIX?endpoint_url=...``).  ``--files`` files of ``--mb`` MB each,
random bytes, are:

* uploaded by ``run.upload_file`` (the file is read once and hashed, its blob looked up with one
  HEAD, then sent once straight to its final key: ``FsspecBlobStore.put_file``), and downloaded
  by ``run.download`` (4 files at a time, each through s3fs's ``get_file`` into a temp file beside
  its destination, its sha256 checked, fsynced and renamed: ``FsspecBlobStore.fetch``);
* copied by plain s3fs, the floor: ``fs.put_file`` and ``fs.get_file`` of the same files, the same
  filesystem options (downloads also with the file and its folder fsynced).

Each round uses a new bucket (nothing is already stored), the two alternate, ``--rounds`` times;
medians in MB/s.  Targets: the workspace at >= 70 % of plain s3fs's upload rate (it hashes each
file first: one more local read), and at >= 70 % of its download rate when its files are made as
durable as ours (``get_file``, then the file and its folder fsynced: each of ours is a temp file
fsynced, renamed and its folder fsynced; the bare ``get_file`` rate, without fsync, is shown too).
Downloads are checked byte for byte.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(0, str(C.ROOT / "tests"))

UPLOAD_TARGET, DOWNLOAD_TARGET = 0.70, 0.70


def make_files(folder: Path, count: int, mb: int) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i in range(count):
        path = folder / f"f{i}.bin"
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(os.urandom(1 << 20))
        files.append(path)
    return files


def ours(server, root: Path, files: list[Path], r: int) -> tuple[float, float]:
    from jupyter_mlws import Workspace

    bucket = server.bucket("ours")
    ws = Workspace.create(root / f"ws{r}", artifacts=server.url(bucket, "team"))
    try:
        t = time.perf_counter()
        with ws.experiment("bench").start_run(snapshot=False) as run:
            for path in files:
                run.upload_file(f"out/{path.name}", path)
        up = time.perf_counter() - t
        dest = root / f"dl-ours{r}"
        t = time.perf_counter()
        ws.get_run(run.id).download("out", dest)
        down = time.perf_counter() - t
        _check(files, dest / "out")
        shutil.rmtree(dest)
        return up, down
    finally:
        ws.close()


def store(server, root: Path, files: list[Path], r: int) -> tuple[float, float]:
    """The blob store alone, no run recorded: ``put_file`` and ``copy_blob`` (where the time of
    ``ours`` goes that is not the workspace's bookkeeping)."""
    from jupyter_mlws.artifact_store import blob_store_at
    from jupyter_mlws.artifacts import copy_blob

    blobs = blob_store_at(server.url(server.bucket("store")), spool_dir=root)
    t = time.perf_counter()
    shas = [blobs.put_file(path)[0] for path in files]
    up = time.perf_counter() - t
    dest = root / f"dl-store{r}"
    t = time.perf_counter()
    for path, sha in zip(files, shas):
        copy_blob(blobs, sha, dest / path.name)
    down = time.perf_counter() - t
    _check(files, dest)
    shutil.rmtree(dest)
    return up, down


def plain(server, root: Path, files: list[Path], r: int) -> tuple[float, float]:
    fs = server.fs()
    bucket = server.bucket("plain")
    t = time.perf_counter()
    for path in files:
        fs.put_file(str(path), f"{bucket}/copy/{path.name}")
    up = time.perf_counter() - t
    dest = root / f"dl-plain{r}"
    dest.mkdir()
    t = time.perf_counter()
    for path in files:
        fs.get_file(f"{bucket}/copy/{path.name}", str(dest / path.name))
    down = time.perf_counter() - t
    _check(files, dest)
    shutil.rmtree(dest)
    dest.mkdir()
    t = time.perf_counter()
    for path in files:  # the same, made durable as ours are: the file and its folder fsynced
        fs.get_file(f"{bucket}/copy/{path.name}", str(dest / path.name))
        _fsync(dest / path.name)
        _fsync(dest)
    durable = time.perf_counter() - t
    _check(files, dest)
    shutil.rmtree(dest)
    return up, down, durable


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check(files: list[Path], folder: Path) -> None:
    for path in files:
        if (folder / path.name).read_bytes() != path.read_bytes():
            raise SystemExit(f"{path.name} came back different")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--mb", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from mlws_testing import free_port
    from moto_s3 import MotoS3

    root = C.tmpdir("artifacts-s3")
    files = make_files(root / "files", args.files, args.mb)
    server = MotoS3(free_port()).start()
    os.environ.update(server.env)  # the artifact store's credentials: the AWS default chain
    total_mb = args.files * args.mb
    times = {f"{k}_{d}": [] for k in ("ours", "store", "plain") for d in ("up", "down")}
    try:
        for r in range(args.rounds):
            order = [("ours", ours), ("store", store), ("plain", plain)]
            order = order if r % 2 == 0 else order[::-1]
            for name, fn in order:
                up, down, *durable = fn(server, root, files, r)
                times[f"{name}_up"].append(up)
                times[f"{name}_down"].append(down)
                if durable:
                    times.setdefault("plain_durable_down", []).append(durable[0])
    finally:
        server.stop()
    rate = {k: total_mb / C.median(v) for k, v in times.items()}
    up_ratio = rate["ours_up"] / rate["plain_up"]
    down_ratio = rate["ours_down"] / rate["plain_durable_down"]
    ok_up, ok_down = up_ratio >= UPLOAD_TARGET, down_ratio >= DOWNLOAD_TARGET
    rows = [
        ["upload: `run.upload_file` (hash, lookup, one PUT/multipart)", f"{rate['ours_up']:.1f}",
         f"{up_ratio:.2f}x", f">= {UPLOAD_TARGET:.0%} of s3fs", C.verdict(ok_up)],
        ["upload: the blob store alone (`FsspecBlobStore.put_file`, info)", f"{rate['store_up']:.1f}",
         f"{rate['store_up'] / rate['plain_up']:.2f}x", "", ""],
        ["upload: plain s3fs `put_file` (floor)", f"{rate['plain_up']:.1f}", "1.00x", "", ""],
        ["download: `run.download` (get_file, sha256 checked, atomic durable local files)",
         f"{rate['ours_down']:.1f}", f"{down_ratio:.2f}x", f">= {DOWNLOAD_TARGET:.0%} of s3fs + fsync",
         C.verdict(ok_down)],
        ["download: the blob store alone (`copy_blob`, info)", f"{rate['store_down']:.1f}",
         f"{rate['store_down'] / rate['plain_durable_down']:.2f}x", "", ""],
        ["download: plain s3fs `get_file`, file and folder fsynced (floor)",
         f"{rate['plain_durable_down']:.1f}", "1.00x", "", ""],
        ["download: plain s3fs `get_file`, no fsync (info)", f"{rate['plain_down']:.1f}",
         f"{rate['plain_down'] / rate['plain_durable_down']:.2f}x", "", ""],
    ]
    body = C.table(["copy", "median MB/s", "vs s3fs", "target", "result"], rows)
    body += f"""

- {args.files} files of {args.mb} MB of random bytes ({total_mb} MB) to and from `moto_server` on
  127.0.0.1 (S3 held in that process's memory: the figures measure the client side and moto's
  request handling, not a network); a new bucket per round, the two alternating, median of
  {args.rounds} rounds. Downloads checked byte for byte.
- `run.upload_file` / `run.download` include the workspace's bookkeeping (the run and each file
  recorded in its SQLite database, committed; `run.download` fetches 4 files at a time); "the blob
  store alone" is `put_file` (the file read once and hashed, one HEAD to look the blob up, one PUT
  from memory) and `copy_blob` one file after the other (one streamed GET through s3fs's
  `get_file` into a temp file, its sha256 checked, fsynced and renamed, the folder fsynced)
  without them.
"""
    C.write_section("artifacts_s3", "artifacts_s3: artifact upload and download through S3 (moto)", body, {
        "files": args.files, "mb": args.mb, "rounds": args.rounds, "seconds": times, "mb_per_s": rate,
        "upload_ratio": up_ratio, "download_ratio": down_ratio, "pass": ok_up and ok_down,
    })


if __name__ == "__main__":
    main()
