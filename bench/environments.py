"""Environment builds: ``mlws env build`` cold, rebuilt on a warm cache, and reused; uv and pip.

Two specs, each built on the ``local`` target through the real CLI (a subprocess, timed
wall-clock), from the package index:

- small: ``six`` and ``iniconfig`` (two small pure-Python wheels);
- realistic: this project's runtime dependencies (the closure of jupyter_mlws's
  ``dependencies`` as installed here, pinned) plus jupyter_mlws itself as a local package,
  its wheel built from this checkout's source (the JavaScript build skipped: the bundles are
  built already, ``skip-if-exists``).

For each installer (uv, pip) and spec, on a fresh workspace (empty caches):

1. cold: ``mlws env build --from-spec SPEC`` (downloads, the local wheel, the venv);
2. warm cache: ``mlws env prune --unused-for 1s`` removes the environment, then the same build
   again: the installer's cache and the wheel cache are warm;
3. reuse: the same build once more: the environment is built, nothing runs.

Also timed: jupyter_mlws's wheel from this checkout (empty caches, uv's cache warm, found in the
wheel cache), and taking this environment's spec in-process (``current()``: listing the installed
distributions and hashing the local packages' sources), what a notebook run does while its
kernel starts.  Every build is checked: state ready, the build count in the record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

BIN = Path(sys.executable).parent
MLWS = str(BIN / "mlws")
SMALL = ("six==1.16.0", "iniconfig==2.0.0")


def runtime_closure(root: str = "jupyter_mlws") -> list[str]:
    """The pins of ``root``'s runtime dependencies as installed here (markers evaluated)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    from jupyter_mlws.environments.probe import normalize

    seen: dict[str, str] = {}
    stack = [(root, frozenset())]
    while stack:
        name, extras = stack.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        key = normalize(dist.metadata["Name"])
        if key in seen and not extras:
            continue
        seen[key] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                stack.append((req.name, frozenset(req.extras)))
    seen.pop(normalize(root), None)
    return sorted(f"{k}=={v}" for k, v in seen.items())


def specs() -> dict:
    from jupyter_mlws.environments.spec import EnvironmentSpec, LocalPackage, content_hash

    py = "%d.%d" % sys.version_info[:2]
    me = LocalPackage("jupyter-mlws", "0.1.0", content_hash(C.ROOT), source=str(C.ROOT))
    return {"small": EnvironmentSpec(py, SMALL),
            "realistic": EnvironmentSpec(py, tuple(runtime_closure()), (me,))}


def mlws(ws: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
    t0 = time.perf_counter()
    done = subprocess.run([MLWS, "-w", str(ws), *args], capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, done


def one(tmp: Path, name: str, spec, installer: str) -> dict:
    ws = tmp / f"ws-{name}-{installer}"
    subprocess.run([MLWS, "workspace", "create", str(ws)], check=True, capture_output=True)
    spec_file = tmp / f"{name}.json"
    spec_file.write_text(json.dumps(spec.to_dict()))
    build = ["env", "build", "--from-spec", str(spec_file), "--installer", installer, "--json"]
    out = {}
    for step in ("cold", "warm cache", "reuse"):
        if step == "warm cache":
            time.sleep(1.1)
            _, pruned = mlws(ws, "env", "prune", "--unused-for", "1s", "--json")
            assert json.loads(pruned.stdout)["removed"], pruned.stdout + pruned.stderr
        seconds, done = mlws(ws, *build)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        record = json.loads(done.stdout)
        assert record["state"] == "ready" and record["reused"] == (step == "reuse"), record
        out[step] = {"seconds": seconds, "installer": record["installer"],
                     "size_bytes": record["size_bytes"]}
        print(f"{name:9} {installer:3} {step:10} {seconds:7.2f} s", flush=True)
    return out


def wheel_cost(tmp: Path, pkg) -> dict:
    """Seconds to get jupyter_mlws's wheel from this checkout: built with empty caches, built
    again with uv's cache warm, and found in the wheel cache."""
    import shutil

    from jupyter_mlws.environments.wheels import BuildOptions, WheelCache, find_uv

    cache = WheelCache(tmp / "wheel-bench" / "wheels", find_uv())
    out = {}
    for step in ("empty caches", "uv cache warm", "cached wheel"):
        if step == "uv cache warm":
            shutil.rmtree(cache.folder(pkg))
        t0 = time.perf_counter()
        wheel = cache.wheel(pkg, BuildOptions())
        out[step] = {"seconds": time.perf_counter() - t0, "bytes": wheel.stat().st_size}
        print(f"jupyter_mlws wheel, {step:13} {out[step]['seconds']:6.2f} s", flush=True)
    return out


def spec_cost(rounds: int = 5) -> list[float]:
    from jupyter_mlws.environments.spec import current

    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        current()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["small", "realistic"], help="One spec only.")
    args = parser.parse_args()
    tmp = C.tmpdir("env")
    all_specs = specs()
    results = {}
    for name, spec in all_specs.items():
        if args.only and name != args.only:
            continue
        for installer in ("uv", "pip"):
            results[f"{name}/{installer}"] = one(tmp, name, spec, installer)
    cost = spec_cost()
    wheel = wheel_cost(tmp, all_specs["realistic"].local[0])
    rows = []
    for key, steps in results.items():
        name, installer = key.split("/")
        spec = all_specs[name]
        rows.append([name, len(spec.packages) + len(spec.local), installer,
                     *(f"{steps[s]['seconds']:.2f} s" for s in ("cold", "warm cache", "reuse")),
                     f"{steps['cold']['size_bytes'] / 2**20:.1f} MB"])
    ratio = {n: results[f"{n}/pip"]["cold"]["seconds"] / results[f"{n}/uv"]["cold"]["seconds"]
             for n in all_specs if f"{n}/uv" in results and f"{n}/pip" in results}
    body = (C.table(["spec", "distributions", "installer", "cold", "warm cache (after prune)",
                     "reuse (built)", "size"], rows)
            + "\n\n- cold: a fresh workspace, empty caches, downloads from the index; the realistic "
            "spec's cold build includes jupyter_mlws's wheel from this checkout (JavaScript build "
            "skipped: the bundles exist) in an isolated build environment.\n"
            "- warm cache: the environment pruned, built again: the installer's cache and the "
            "wheel cache are warm.\n- reuse: the record says ready and the marker is there: no "
            "builder runs (the CLI's own start and the workspace's open are what is left).\n"
            + "".join(f"- {n}: pip cold / uv cold = {r:.1f}x\n" for n, r in ratio.items())
            + "\n" + C.table(["jupyter_mlws's wheel from this checkout (uv build, JavaScript "
                              "build skipped: skip-if-exists)", "seconds", "size"],
                             [[k, f"{v['seconds']:.2f}", f"{v['bytes'] / 2**20:.1f} MB"]
                              for k, v in wheel.items()]) + "\n\n"
            + f"- taking this environment's spec in-process (`current()`: "
            f"the distributions listed and local sources hashed): median "
            f"{C.median(cost) * 1000:.0f} ms of {len(cost)}.\n")
    C.write_section("environments", "environments: `mlws env build` cold, warm and reused; uv and pip",
                    body, {"results": results, "spec_seconds": cost, "wheel": wheel})


if __name__ == "__main__":
    main()
