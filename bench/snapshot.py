"""Snapshot: how long listing a project folder for a run's source snapshot takes.

``jupyter_mlws.snapshot.collect`` walks the folder a run starts in, honouring ``.gitignore``
files at every level, ``.mlwsignore`` and the built-in skips (virtualenvs, caches, ...), and
sizes each file.  It runs on every ``start_run()`` and every notebook submission, so its
cost is part of every run's start.

A project of ``--folders`` packages x ``--files`` modules (each package with its own
``.gitignore``), the size of a real small repository, listed ``--repeat`` times, interleaved with:

* the Python floor: a plain ``os.walk`` + ``os.stat`` of the same tree (no ignore rules; ``.git``
  skipped, as ``collect`` skips it);
* git's own ignore matching in C: ``git ls-files --others --exclude-standard -z`` in the same
  folder made a git repository (information: the field's reference for the same rules).

Target: ``collect`` at most 4x the Python floor (the rules cost no more than three walks).
The two listings are checked to name the same files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_RATIO = 4.0


def make_project(root: Path, folders: int, files: int) -> int:
    """Write the project; return how many files a snapshot should keep."""
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / ".mlwsignore").write_text("*.tmp\n")
    for d in range(folders):
        pkg = root / f"pkg{d}"
        pkg.mkdir()
        (pkg / ".gitignore").write_text("*.pyc\n")
        for i in range(files):
            (pkg / f"m{i}.py").write_text("print(1)\n")
        (pkg / "m0.pyc").write_bytes(b"\0" * 64)  # ignored by the package's .gitignore
        (pkg / "run.log").write_text("ignored\n")  # ignored by the root's .gitignore
    return 2 + folders * (files + 1)  # the two ignore files at the root, each package's .gitignore + modules


def plain_walk(root: Path) -> int:
    n = 0
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]  # as collect() and git skip it
        for name in names:
            os.stat(os.path.join(dirpath, name))
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folders", type=int, default=40)
    ap.add_argument("--files", type=int, default=48)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    from jupyter_mlws.snapshot import collect

    root = C.tmpdir("snapshot")
    expected = make_project(root, args.folders, args.files)
    has_git = shutil.which("git") is not None
    if has_git:
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)

    ours, floor, git = [], [], []
    kept = walked = listed = 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        kept = len(collect(root))
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        walked = plain_walk(root)
        floor.append(time.perf_counter() - t)
        if has_git:
            t = time.perf_counter()
            out = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z"],
                                 cwd=root, check=True, capture_output=True).stdout
            git.append(time.perf_counter() - t)
            listed = len([p for p in out.split(b"\0") if p])
    if kept != expected:
        raise SystemExit(f"collect kept {kept} files, expected {expected}")

    med_ours, med_floor = C.median(ours) * 1000, C.median(floor) * 1000
    ratio = med_ours / med_floor
    ok = ratio <= TARGET_RATIO
    rows = [
        ["`collect()` (ignore rules, sizes)", f"{kept:,}", f"{med_ours:.1f}", f"{ratio:.2f}x",
         f"<= {TARGET_RATIO:g}x the floor", C.verdict(ok)],
        ["floor: `os.walk` + `os.stat`, no rules", f"{walked:,}", f"{med_floor:.1f}", "1.00x", "", ""],
    ]
    if git:
        med_git = C.median(git) * 1000
        rows.append(["`git ls-files --others --exclude-standard` (C, info)", f"{listed:,}",
                     f"{med_git:.1f}", f"{med_git / med_floor:.2f}x", "", ""])
    body = C.table(["listing", "files", "median ms", "vs floor", "target", "result"], rows)
    body += f"""

- A project of {args.folders} packages x {args.files} modules, each package with its own `.gitignore`
  (`*.pyc`) plus one ignored `.pyc` and one ignored `.log` (root `.gitignore`), and a `.mlwsignore`:
  {expected:,} files to keep of {walked:,}. Median of {args.repeat} listings each, interleaved, warm file cache.
- `collect` kept exactly the expected files{"; git listed " + f"{listed:,}" + " (its own `.git` aside)" if git else ""}.
- The timed assertion that used to sit in tests/test_snapshot.py (`< 0.5 s`) lives here now.
"""
    C.write_section("snapshot", "snapshot: listing a project folder for a run's source snapshot", body, {
        "folders": args.folders, "files": args.files, "repeat": args.repeat, "ours_s": ours,
        "floor_s": floor, "git_s": git, "ratio": ratio, "pass": ok,
    })


if __name__ == "__main__":
    main()
