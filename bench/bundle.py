"""Bundle: what the lab extension's build weighs, what JupyterLab loads at start and what loads later.

Reads the built extension (``jupyter_mlws/labextension/static/*.js``: run ``cd labextension &&
jlpm build:prod`` first) and, with ``--reference DIR``, another build of it (e.g. main's) for
the before/after.  Each chunk is named by a string only it holds: the lazily loaded views (the
compare page, a sweep's section, the charts both share, the models and the endpoints pages) load
when first opened; every other chunk loads with JupyterLab (tests/ui/test_compare.py checks in
Chromium that the lazy ones do not).
The Vega-Lite renderer the charts use is JupyterLab's own (its vega5 extension): it adds
nothing to our build.

Target (issue 10): the extension must not slow JupyterLab's start: what loads at start grows by
little (the heavy views are lazy).
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

BUILD = C.ROOT / "jupyter_mlws" / "labextension" / "static"
#: chunks of the lazily loaded views, each known by a string of its own
LAZY = {"compare page (lazy)": "Only differences",
        "sweep section (lazy)": "read off the children",
        "charts, tables of runs (lazy, shared)": "Parallel coordinates:",
        "models pages (lazy)": "Training data",
        "endpoints pages (lazy)": "Latency p50 / p95 / p99",
        "compute and secrets pages (lazy)": "The fingerprint matches"}  # tests/ui/test_compute_page.py
#: chunks that load at start, known the same way
#: (the CSS first: it holds uPlot's stylesheet, so its class names too)
KNOWN = {"remoteEntry": "remoteEntry.", "the plugin": "mlws:open-page",
         "CSS (ours and uPlot's)": ".mlws-Sidebar", "uPlot": "u-legend"}


def role(path: Path) -> str:
    text = path.read_text(errors="replace")
    if path.name.startswith("remoteEntry."):
        return "remoteEntry"
    # the plugin's chunk first: a view a build imports eagerly (as main did the models and
    # endpoints pages before they were lazy) has its marker there, and loads at start
    if KNOWN["the plugin"] in text:
        return "the plugin"
    for name, marker in LAZY.items():
        if marker in text:
            return name
    return next((name for name, marker in KNOWN.items() if marker in text), "other (at start)")


def measure(folder: Path) -> dict[str, dict]:
    """Per role: bytes and gzip -9 bytes of its chunks (a role may span several)."""
    out: dict[str, dict] = {}
    for path in sorted(folder.glob("*.js")):
        raw = path.read_bytes()
        entry = out.setdefault(role(path), {"bytes": 0, "gzip": 0, "files": []})
        entry["bytes"] += len(raw)
        entry["gzip"] += len(gzip.compress(raw, 9))
        entry["files"].append(path.name)
    return out


def totals(sizes: dict[str, dict], lazy: bool) -> tuple[int, int]:
    chosen = [v for k, v in sizes.items() if (k in LAZY) == lazy]
    return sum(v["bytes"] for v in chosen), sum(v["gzip"] for v in chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", type=Path, default=BUILD, help="the build measured (static/ folder)")
    parser.add_argument("--reference", type=Path, help="another build of it, e.g. main's, for before/after")
    args = parser.parse_args()
    if not list(args.build.glob("*.js")):
        sys.exit(f"no build in {args.build}: run `cd labextension && jlpm build:prod` first")
    now = measure(args.build)
    before = measure(args.reference) if args.reference else {}
    kb = lambda n: f"{n / 1024:.1f}"  # noqa: E731
    rows = []
    for name in [*KNOWN, "other (at start)", *LAZY]:
        if name in now or name in before:
            b, a = before.get(name, {"bytes": 0, "gzip": 0}), now.get(name, {"bytes": 0, "gzip": 0})
            rows.append([name, kb(b["bytes"]) if before else "", kb(a["bytes"]), kb(a["gzip"]),
                         f"{(a['bytes'] - b['bytes']) / 1024:+.1f}" if before else ""])
    start_now, start_before = totals(now, False), totals(before, False)
    lazy_now = totals(now, True)
    rows.append(["**at JupyterLab's start**", kb(start_before[0]) if before else "", kb(start_now[0]),
                 kb(start_now[1]), f"{(start_now[0] - start_before[0]) / 1024:+.1f}" if before else ""])
    rows.append(["**on first use of a view**", "", kb(lazy_now[0]), kb(lazy_now[1]), ""])
    table = C.table(["chunk", "reference KiB", "KiB", "gzip KiB", "change KiB"], rows)
    growth = (start_now[0] / start_before[0] - 1) * 100 if before and start_before[0] else None
    body = table + "\n\n" + (
        f"- What JupyterLab loads at start changed by {growth:+.1f} % against the reference build "
        f"(`{args.reference}`); the views themselves load on first use.\n" if growth is not None else "") + (
        "- Charts of many runs (parallel coordinates, bars, scatter) are drawn by JupyterLab's own "
        "Vega-Lite renderer (its vega5 extension, loaded by JupyterLab the first time a chart shows): "
        "0 bytes of ours. Time series stay uPlot (already in the build).\n"
        "- Chunks are known by a string only they hold (see `LAZY` / `KNOWN` in bench/bundle.py); "
        "tests/ui/test_compare.py checks in Chromium that the lazy ones are not fetched at start.\n")
    C.write_section("bundle", "bundle: the lab extension's JavaScript, at start and on first use", body,
                    {"build": now, "reference": before, "start_bytes": start_now[0],
                     "reference_start_bytes": start_before[0] if before else None})


if __name__ == "__main__":
    main()
