"""Workload 4: what ``import jupyter_mlws`` costs a fresh interpreter (e.g. a kernel).

Wall time of fresh subprocesses ``python -c "<code>"`` (the venv's python, from
an empty directory), ``--repeat`` of each, interleaved; the median is reported:

* ``pass`` (the bare interpreter)
* ``import jupyter_mlws``
* ``from jupyter_mlws import Workspace`` (what the first real use loads: SQLAlchemy and the store)
* ``import mlflow`` (the reference)

Plus the top offenders of ``python -X importtime`` for ours.
Target: ``import jupyter_mlws`` < 150 ms above the bare interpreter.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_MS = 150.0
CASES = [
    ("bare", "pass"),
    ("ours", "import jupyter_mlws"),
    ("ours_workspace", "from jupyter_mlws import Workspace"),
    ("mlflow", "import mlflow"),
]


def wall(code: str, cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def importtime(code: str, cwd: Path, top: int) -> list[tuple[int, int, str]]:
    """The modules with the largest cumulative import time: (self us, cumulative us, name)."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=cwd, check=True,
                         capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        rows.append((int(self_us), int(cum_us), name.rstrip()))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    tmp = C.tmpdir("import_time")
    compiled = C.byte_compile()

    for _, code in CASES:  # warm the OS file cache and the .pyc files
        wall(code, tmp)
    times: dict[str, list[float]] = {name: [] for name, _ in CASES}
    for _ in range(args.repeat):
        for name, code in CASES:
            times[name].append(wall(code, tmp))
    med = {k: C.median(v) * 1000 for k, v in times.items()}
    above = {k: med[k] - med["bare"] for k in med}
    ok = above["ours"] < TARGET_MS
    ours_top = importtime("import jupyter_mlws", tmp, 8)
    ws_top = importtime("from jupyter_mlws import Workspace", tmp, 12)

    rows = [
        ["`python -c pass` (bare interpreter)", f"{med['bare']:.1f}", "0", "", ""],
        ["`import jupyter_mlws`", f"{med['ours']:.1f}", f"{above['ours']:.1f}", f"< {TARGET_MS:g} above bare",
         C.verdict(ok)],
        ["`from jupyter_mlws import Workspace` (first use)", f"{med['ours_workspace']:.1f}",
         f"{above['ours_workspace']:.1f}", "", ""],
        ["`import mlflow` (reference)", f"{med['mlflow']:.1f}", f"{above['mlflow']:.1f}", "", ""],
    ]
    body = C.table(["fresh process runs", "median ms", "ms above bare", "target", "result"], rows)
    ours_text = (f"{C.fmt_ratio(above['mlflow'] / above['ours'])} what `import jupyter_mlws` does"
                 if above["ours"] >= 1 else
                 f"{above['mlflow']:,.0f} ms while `import jupyter_mlws` is within the noise of the bare "
                 f"interpreter ({above['ours']:+.1f} ms)")
    ws_text = f"{C.fmt_ratio(above['mlflow'] / above['ours_workspace'])}"

    def offenders(rows_):
        return C.table(["module", "self ms", "cumulative ms"],
                       [[f"`{n.strip()}`", f"{s / 1000:.1f}", f"{c / 1000:.1f}"] for s, c, n in rows_])

    body += f"""

- Median wall time of {args.repeat} fresh `{Path(sys.executable).name} -c ...` subprocesses each (interleaved,
  after one warm-up of each), from an empty directory; it includes the interpreter's own start-up.
  {compiled}.
- Above the bare interpreter, `import mlflow` costs {ours_text},
  and {ws_text} what `from jupyter_mlws import Workspace` (which loads SQLAlchemy) costs.

`python -X importtime -c "import jupyter_mlws"`, largest cumulative times:

{offenders(ours_top)}

`python -X importtime -c "from jupyter_mlws import Workspace"`, largest cumulative times:

{offenders(ws_top)}
"""
    C.write_section("import_time", "4. import_time: `import jupyter_mlws` in a fresh interpreter", body, {
        "repeat": args.repeat, "times_s": times, "median_ms": med, "above_bare_ms": above, "pass": ok,
        "importtime_ours": ours_top, "importtime_workspace": ws_top,
    })


if __name__ == "__main__":
    main()
