"""Datasets: re-checking an unchanged folder of 10,000 files, and hashing speed beside sha256sum.

(a) A folder of ``--files`` files (``--size`` bytes each, in folders of 500; modification times a
minute in the past, as data is before it is registered) is registered once as a dataset (timed,
information: hashing, 10,000 uploads to the default datastore, the version row).  Then the same
``ws.datasets.register`` again, ``--repeat`` times: each finds every file unchanged (size, mtime,
inode) in the change-detection cache, reads none, and makes no new version.  Beside it, the
Python floor: a plain ``os.walk`` + ``os.stat`` of the same tree.  Target: under 1 s.

(b) Fresh hashing: ``--big`` files of ``--big-mb`` MiB, hashed by ``jupyter_mlws.datasets.hashing.
hash_files`` (1 MiB ``readinto`` blocks, one thread per core), by plain ``hashlib.file_digest``
one file after the other (one thread), and by ``sha256sum`` (coreutils, C) on the same files;
interleaved, median of ``--repeat``; the files are read once first, so all three read from the
page cache: the figure is the hashing rate, the disk's own being the ceiling of a cold read
(``dd`` of the first file with ``iflag=direct`` is shown as that ceiling, when it works).  The
three digests are checked equal.

(c) Many small files to S3 (section ``datasets_s3``): ``--s3-files`` files of ``--size`` bytes
(2,000 x 1 KiB by default) registered as a dataset into an S3 datastore on ``moto_server``
(127.0.0.1, a process of its own), beside plain s3fs copying the same folder,
``fs.put(folder, bucket/prefix, recursive=True)`` (its own concurrent async batch).  A new
bucket each round (nothing already stored), the two alternating, ``--s3-rounds`` rounds; the
register is timed whole (scan, hashes from the change-detection cache after the first round, the
listing that finds what is missing, the uploads, the version row) and its upload part alone.
Target: the register at >= 70 % of s3fs's files/s.  ``--s3-only`` runs this part alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_S = 1.0
S3_TARGET = 0.70


def make_tree(root: Path, files: int, size: int) -> None:
    past = time.time() - 60
    for i in range(files):
        folder = root / f"part{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"f{i:06d}.bin"
        path.write_bytes(i.to_bytes(8, "big") * (size // 8))
        os.utime(path, (past, past))


def plain_walk(root: Path) -> int:
    n = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            os.stat(os.path.join(dirpath, name))
            n += 1
    return n


def recheck(args, ws, root: Path) -> tuple[list, dict]:
    t = time.perf_counter()
    first = ws.datasets.register("bench", root)
    first_s = time.perf_counter() - t
    ours, floor = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        again = ws.datasets.register("bench", root)
        ours.append(time.perf_counter() - t)
        if again.created or again.hashed_files:
            raise SystemExit(f"an unchanged register hashed {again.hashed_files} files "
                             f"(created: {again.created})")
        t = time.perf_counter()
        walked = plain_walk(root)
        floor.append(time.perf_counter() - t)
    if walked != args.files:
        raise SystemExit(f"walked {walked} files, expected {args.files}")
    return [ours, floor], {"first_s": first_s, "uploaded": first.uploaded_files}


def hashing(args, folder: Path) -> dict:
    from jupyter_mlws.datasets.hashing import hash_files, workers

    files = []
    for i in range(args.big):
        path = folder / f"big{i}.bin"
        with open(path, "wb") as f:
            for _ in range(args.big_mb):
                f.write(os.urandom(1 << 20))
        files.append(path)
    total = sum(p.stat().st_size for p in files)
    for p in files:  # warm the page cache: every tool then reads from memory
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    times = {"ours": [], "hashlib": [], "sha256sum": []}
    digests = {}
    for _ in range(args.repeat):
        t = time.perf_counter()
        digests["ours"] = [s for s, _n in hash_files([(str(p), p.stat().st_size) for p in files])]
        times["ours"].append(time.perf_counter() - t)
        t = time.perf_counter()
        single = []
        for p in files:
            with open(p, "rb") as f:
                single.append(hashlib.file_digest(f, "sha256").hexdigest())
        times["hashlib"].append(time.perf_counter() - t)
        digests["hashlib"] = single
        t = time.perf_counter()
        out = subprocess.run(["sha256sum", *map(str, files)], check=True, capture_output=True,
                             text=True).stdout
        times["sha256sum"].append(time.perf_counter() - t)
        digests["sha256sum"] = [line.split()[0] for line in out.splitlines()]
    if not digests["ours"] == digests["hashlib"] == digests["sha256sum"]:
        raise SystemExit("the three tools disagree on the digests")
    return {"bytes": total, "times": times, "threads": workers(), "disk": _disk_rate(files[0])}


def _disk_rate(path: Path) -> float | None:
    """MB/s of one cold read of ``path`` bypassing the page cache (``dd iflag=direct``)."""
    if shutil.which("dd") is None:
        return None
    t = time.perf_counter()
    done = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"],
                          capture_output=True)
    if done.returncode:
        return None
    return path.stat().st_size / (time.perf_counter() - t) / 1e6


def s3_many(args, base: Path) -> None:
    """(c): many small files registered into an S3 datastore, beside ``s3fs.put(recursive=True)``."""
    sys.path.insert(0, str(C.ROOT / "tests"))
    from mlws_testing import free_port
    from moto_s3 import MotoS3

    from jupyter_mlws import Workspace

    folder = base / "small"
    make_tree(folder, args.s3_files, args.size)
    total_mb = args.s3_files * args.size / 1e6
    server = MotoS3(free_port()).start()
    ws = Workspace.create(base / "ws-s3")
    ws.secrets.set(ws.access.creator(), "moto", server.credentials)
    times: dict[str, list[float]] = {"ours": [], "ours_upload": [], "ours_hash": [], "s3fs": []}
    try:
        fs = server.fs()
        for r in range(args.s3_rounds):
            def ours():
                store = f"lake{r}"
                ws.datastores.register(store, server.url(server.bucket("ours"), "lake"),
                                       credentials_secret="moto")
                t = time.perf_counter()
                done = ws.datasets.register(f"small{r}", folder, datastore=store)
                times["ours"].append(time.perf_counter() - t)
                times["ours_upload"].append(done.upload_seconds)
                times["ours_hash"].append(done.hash_seconds)
                if done.uploaded_files != args.s3_files:
                    raise SystemExit(f"uploaded {done.uploaded_files} objects, expected {args.s3_files}")

            def plain():
                bucket = server.bucket("plain")
                t = time.perf_counter()
                fs.put(str(folder), f"{bucket}/copy", recursive=True)
                times["s3fs"].append(time.perf_counter() - t)
                if len(fs.find(f"{bucket}/copy")) != args.s3_files:
                    raise SystemExit("s3fs.put did not copy every file")

            for fn in ((ours, plain) if r % 2 == 0 else (plain, ours)):
                fn()
    finally:
        ws.close()
        server.stop()
    rate = {k: args.s3_files / C.median(v) for k, v in times.items()}
    ratio = rate["ours"] / rate["s3fs"]
    ok = ratio >= S3_TARGET
    rows = [
        [f"`ws.datasets.register` into an S3 datastore, {args.s3_files:,} x {args.size:,} B (whole)",
         f"{C.median(times['ours']):.2f} s", f"{rate['ours']:,.0f}", f"{ratio:.2f}x",
         f">= {S3_TARGET:.0%} of s3fs", C.verdict(ok)],
        ["  of which: finding what is missing + uploading (info)",
         f"{C.median(times['ours_upload']):.2f} s", f"{rate['ours_upload']:,.0f}",
         f"{rate['ours_upload'] / rate['s3fs']:.2f}x", "", ""],
        ["  of which: scan + hashes (info)", f"{C.median(times['ours_hash']):.2f} s", "", "", "", ""],
        ["plain s3fs `put(folder, recursive=True)` (floor)", f"{C.median(times['s3fs']):.2f} s",
         f"{rate['s3fs']:,.0f}", "1.00x", "", ""],
    ]
    body = C.table(["copy", "median", "files/s", "vs s3fs", "target", "result"], rows)
    body += f"""

- {args.s3_files:,} files of {args.size:,} bytes ({total_mb:.1f} MB) in folders of 500 to
  `moto_server` on 127.0.0.1 (S3 in that process's memory: the figures measure the clients and
  moto's request handling, not a network); a new bucket per round, the two alternating, median of
  {args.s3_rounds} rounds.
- The register finds the objects its datastore lacks with one listing (a HEAD each under 500),
  then sends them 32 at a time on s3fs's event loop, each file read and its sha256 checked first
  (`jupyter_mlws.store.blobs.batch`); the first round hashes the files, later ones find them in the
  change-detection cache.
"""
    C.write_section("datasets_s3", "datasets_s3: many small files registered into an S3 datastore "
                    "vs s3fs.put", body, {
                        "files": args.s3_files, "size": args.size, "rounds": args.s3_rounds,
                        "seconds": times, "files_per_s": rate, "ratio": ratio, "pass": ok})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=1024, help="bytes per file of the folder")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--big", type=int, default=4, help="files hashed for the MB/s figure")
    ap.add_argument("--big-mb", type=int, default=64)
    ap.add_argument("--s3-files", type=int, default=2_000, help="(c): files to S3; 0 skips (c)")
    ap.add_argument("--s3-rounds", type=int, default=3)
    ap.add_argument("--s3-only", action="store_true", help="run (c) alone")
    args = ap.parse_args()
    from jupyter_mlws import Workspace

    base = C.tmpdir("datasets")
    if args.s3_files:
        s3_many(args, base)
    if args.s3_only:
        return
    ws = Workspace.create(base / "ws")
    root = base / "data"
    make_tree(root, args.files, args.size)
    (ours, floor), first = recheck(args, ws, root)
    hashed = hashing(args, base)
    ws.close()

    med, med_floor = C.median(ours), C.median(floor)
    ok = med < TARGET_S
    mb = hashed["bytes"] / 1e6
    rates = {k: mb / C.median(v) for k, v in hashed["times"].items()}
    rows = [
        [f"unchanged re-check, {args.files:,} files (`ws.datasets.register`)", f"{med * 1000:.0f} ms",
         f"{med / med_floor:.1f}x the floor", f"< {TARGET_S:g} s", C.verdict(ok)],
        ["floor: `os.walk` + `os.stat` of the same tree", f"{med_floor * 1000:.0f} ms", "", "", ""],
        [f"first register (hash + {first['uploaded']:,} uploads to `default`, info)",
         f"{first['first_s']:.1f} s", "", "", ""],
    ]
    body = C.table(["what", "median", "", "target", "result"], rows)
    hrows = [[f"`hash_files` ({hashed['threads']} threads, 1 MiB readinto)", f"{rates['ours']:,.0f}",
              f"{rates['ours'] / rates['sha256sum']:.2f}x"],
             ["`hashlib.file_digest`, one thread", f"{rates['hashlib']:,.0f}",
              f"{rates['hashlib'] / rates['sha256sum']:.2f}x"],
             ["`sha256sum` (coreutils)", f"{rates['sha256sum']:,.0f}", "1.00x"]]
    if hashed["disk"]:
        hrows.append(["disk: one cold `dd iflag=direct` read (ceiling of a cold register)",
                      f"{hashed['disk']:,.0f}", ""])
    body += "\n\n" + C.table(["hashing", "MB/s", "vs sha256sum"], hrows)
    body += f"""

- (a) {args.files:,} files of {args.size:,} bytes in folders of 500, modification times a minute in the
  past; registered once, then registered again {args.repeat} times (median), each finding every file
  in the change-detection cache (`.mlws/cache/file-hashes.db`): nothing read, no version made.
- (b) {args.big} files of {args.big_mb} MiB ({mb:,.0f} MB), read once first (page cache warm), hashed
  {args.repeat} times by each tool, interleaved; the three digests checked equal.
"""
    C.write_section("datasets", "datasets: unchanged re-check of 10,000 files, hashing MB/s", body, {
        "files": args.files, "size": args.size, "repeat": args.repeat, "recheck_s": ours,
        "floor_s": floor, "first": first, "hashing": hashed, "rates_mb_s": rates, "pass": ok,
    })


if __name__ == "__main__":
    main()
