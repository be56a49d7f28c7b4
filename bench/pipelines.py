"""Pipelines: a fully reused 5-step pipeline, and a diamond's parallel steps.

* **Reused**: a chain of 5 script steps run once, then again unchanged: every step is reused
  (nothing executes, no kernel starts).  Timed as ``mlws pipeline run pipeline.yaml --wait``
  (the real CLI, a fresh process each time: what a user waits for) and as
  ``ws.pipelines.run(..., wait=True)`` in this process (median of ``--repeat``).  Reference,
  same run: the 5 scripts run by hand, one ``python step.py`` after the other (what reuse saves),
  and the first, executing pipeline run.  Target: under 2 s.
* **Diamond**: a -> (b, c) -> d, each step sleeping ``--sleep`` seconds (10), ``max_parallel``
  2, on this 2-core machine: the pipeline's wall clock against the same four scripts run by hand
  one after the other (4 sleeps) and against the DAG's critical path (3 sleeps: a, then b and c
  at once, then d; no scheduler can beat it).  The issue's "at most 25 s" for 10 s steps is
  below that floor (30 s), so the figure that says whether the steps ran in parallel is the
  ratio to the critical path and to the sequential run; the verdict uses the floor plus 5 s of
  overhead for 4 step runs (a detached executor and a recorded run each).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

REUSED_TARGET_S = 2.0
OVERHEAD_S = 5.0

STEP = """\
import pathlib, time
import jupyter_mlws
p = jupyter_mlws.parameters(sleep=0)
time.sleep(p["sleep"])
text = "{name}"
for name in sorted(k for k in p if k.startswith("in_")):
    text += "|" + pathlib.Path(p[name]).read_text()
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/out.txt").write_text(text)
"""


def make_project(folder: Path, steps: dict[str, list[str]], sleep: float, name: str) -> Path:
    folder.mkdir(parents=True)
    lines = [f"name: {name}", "steps:"]
    for step, ups in steps.items():
        (folder / f"{step}.py").write_text(STEP.replace("{name}", step))
        lines.append(f"  - name: {step}\n    script: {step}.py\n    parameters: {{sleep: {sleep}}}"
                     "\n    outputs: [out.txt]")
        if ups:
            lines.append("    inputs: {" + ", ".join(f"in_{u}: {u}/out.txt" for u in ups) + "}")
    (folder / "pipeline.yaml").write_text("\n".join(lines) + "\n")
    return folder / "pipeline.yaml"


def by_hand(folder: Path, steps, sleep: float) -> float:
    """The steps run one after the other, ``python STEP.py`` each (parameters as env)."""
    import json

    params = folder / "params.json"
    params.write_text(json.dumps({"sleep": sleep}))
    env = {**os.environ, "MLWS_PARAMETERS": str(params)}
    t = time.perf_counter()
    for step in steps:
        subprocess.run([sys.executable, f"{step}.py"], cwd=folder, env=env, check=True)
    return time.perf_counter() - t


def cli_run(ws_root: Path, yaml: Path) -> float:
    mlws = str(Path(sys.executable).parent / "mlws")
    t = time.perf_counter()
    subprocess.run([mlws, "-w", str(ws_root), "pipeline", "run", str(yaml), "--wait"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=10, help="Reused runs timed (each way)")
    ap.add_argument("--sleep", type=float, default=10.0, help="Seconds each diamond step sleeps")
    ap.add_argument("--rounds", type=int, default=1, help="Diamond rounds")
    args = ap.parse_args()
    from jupyter_mlws import Workspace

    load_start = C.loadavg()
    root = C.tmpdir("pipelines")
    ws = Workspace.create(root / "ws")
    chain = {"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "e": ["d"]}
    yaml = make_project(root / "chain", chain, 0, "chain")
    t = time.perf_counter()
    first = ws.pipelines.run(yaml, wait=True)
    first_s = time.perf_counter() - t
    assert ws.get_run(first).status == "completed", ws.get_run(first).record.error
    hand, cli, sdk = [], [], []
    for _ in range(args.repeat):
        hand.append(by_hand(root / "chain", chain, 0))
        cli.append(cli_run(ws.root, yaml))
        t = time.perf_counter()
        run_id = ws.pipelines.run(yaml, wait=True)
        sdk.append(time.perf_counter() - t)
        states = {s["state"] for s in ws.pipelines.describe(run_id)["steps"]}
        assert states == {"reused"}, states
    last_cli = ws.pipelines.describe(ws.pipelines.runs_of("chain", 2)[1]["id"])
    assert {s["state"] for s in last_cli["steps"]} == {"reused"}

    diamond = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    dyaml = make_project(root / "diamond", diamond, args.sleep, "diamond")
    walls, seq, overlaps = [], [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        run_id = ws.pipelines.run(dyaml, wait=True, no_reuse=True, max_parallel=2)
        walls.append(time.perf_counter() - t)
        steps = {s["name"]: s for s in ws.pipelines.describe(run_id)["steps"]}
        assert {s["state"] for s in steps.values()} == {"completed"}
        b, c = steps["b"], steps["c"]
        overlaps.append(min(b["ended_at"], c["ended_at"]) - max(b["started_at"], c["started_at"]))
        seq.append(by_hand(root / "diamond", diamond, args.sleep))
    floor = 3 * args.sleep
    wall, sequential = C.median(walls), C.median(seq)
    med_cli, med_sdk, med_hand = C.median(cli), C.median(sdk), C.median(hand)
    rows = [
        ["reused 5-step chain: `mlws pipeline run --wait` (CLI process)", f"{med_cli:.2f} s",
         f"{med_cli / med_hand:.2f}x by hand", f"< {REUSED_TARGET_S:g} s", C.verdict(med_cli < REUSED_TARGET_S)],
        ["reused 5-step chain: `ws.pipelines.run(wait=True)`", f"{med_sdk:.3f} s",
         f"{med_sdk / med_hand:.2f}x by hand", f"< {REUSED_TARGET_S:g} s", C.verdict(med_sdk < REUSED_TARGET_S)],
        ["5 scripts by hand, one after the other (reference)", f"{med_hand:.2f} s", "1.00x", "", ""],
        ["first run of the chain (all 5 steps execute)", f"{first_s:.2f} s",
         f"{first_s / med_hand:.2f}x by hand", "", ""],
        [f"diamond, 4 steps of {args.sleep:g} s, max_parallel 2", f"{wall:.1f} s",
         f"{wall / sequential:.2f}x sequential, {wall / floor:.2f}x critical path",
         f"<= {floor + OVERHEAD_S:g} s (path {floor:g} s + {OVERHEAD_S:g})",
         C.verdict(wall <= floor + OVERHEAD_S)],
        ["diamond's 4 scripts by hand, one after the other", f"{sequential:.1f} s", "1.00x", "", ""],
    ]
    body = C.table(["workload", "median", "ratio", "target", "result"], rows)
    body += f"""

- Reused: {args.repeat} runs each way, alternating with the by-hand reference; every step of every
  timed run was checked `reused` (nothing executed, no kernel started). The CLI figure includes the
  interpreter start and imports of a fresh `mlws` process.
- Diamond: b and c overlapped by {C.median(overlaps) / 1000:.1f} s (their recorded runs' start and
  end; {args.sleep:g} s would be a perfect overlap). The issue's target, at most 25 s for four 10 s
  steps, is below the DAG's own critical path (a, then b and c, then d: {floor:g} s): the verdict
  checks the critical path plus {OVERHEAD_S:g} s, and the ratio to running the steps in sequence
  ({4 * args.sleep:g} s of sleeps) shows the parallelism.
- Load average at start: {load_start}; at end: {C.loadavg()}.
"""
    C.write_section("pipelines", "pipelines: a fully reused 5-step pipeline, a diamond's parallel steps",
                    body, {"first_s": first_s, "cli_s": cli, "sdk_s": sdk, "hand_s": hand,
                           "diamond_s": walls, "diamond_sequential_s": seq, "sleep": args.sleep,
                           "overlap_ms": overlaps})
    ws.close()


if __name__ == "__main__":
    main()
