"""Serving: a jupyter_mlws endpoint versus ``mlflow models serve`` and a bare ASGI app.

One small scikit-learn model (LogisticRegression on iris), served on 127.0.0.1 by

- ``ours w1`` / ``ours w2``: a jupyter_mlws endpoint (``ws.register_model`` +
  ``ws.endpoints.create(..., workers=N)``), a score.py whose ``run()`` calls
  ``model.predict``, key auth on (``Authorization: Bearer KEY``), monitoring on, every
  other setting at its default (``threads=0``: ``run()`` on the worker's event loop);
- ``ours w1, monitoring off``: the same endpoint with ``monitoring=False`` (the monitoring
  verdict itself prices ``Monitor.record`` and the worker's side threads against the CPU
  of a request: the A/B is too noisy here for 5 %);
- ``mlflow w1`` / ``mlflow w2``: ``mlflow models serve -m runs:/RUN/model --env-manager
  local -w N`` on the same fitted model, logged with ``mlflow.sklearn.log_model`` into a
  ``sqlite:///`` store in a temp dir (its other defaults: access log on); ``-w 1`` is
  MLflow's default, so the ``mlflow w1`` row is also "MLflow as it comes";
- ``bare w1`` / ``bare w2``: the ceiling, a single-file raw ASGI app on uvicorn (uvloop +
  httptools, as our workers use) that reads the body, ``json.loads``, calls ``predict``
  in-process on the event loop, ``json.dumps``; ``uvicorn --workers 2`` shares one listening
  socket between its workers;
- ``control w1`` / ``control w2``: a second copy of the bare app, run next to it in every
  round: the per-round rule applied to two identical servers shows what the machine's noise
  alone does to it (printed as information next to each ours/bare verdict).

Every comparison is at equal worker counts: ours wN against bare wN and mlflow wN.

Load: ``wrk`` (one thread, keep-alive connections; ``--loadgen asyncio``, or no wrk on
PATH, uses the asyncio generator in this file: raw HTTP/1.1 keep-alive, bounded in time
and count) at 16 and 64 connections, closed loop, each request a JSON body of 2 iris
rows.  Every (server, concurrency) cell gets ``--seconds`` (28) split into ``--rounds``
(4) rounds, interleaved across servers so that other work on the shared 2-core machine
hits them alike.  Every round is printed and recorded: req/s, p99, and how the
connections were split over the server's worker processes (``ss``, 1.5 s into the round);
the summary table gives the medians, the targets are judged round by round.  Server CPU
per request is read from /proc, for every process of the server and for its worker processes
alone.

CPU seconds per request move with the share of the CPU a server gets on a busy machine, so the
cost of a request is also counted in units other work does not change ("Per request,
counted"; ``--no-counts`` skips it): the instructions the ``ours w1`` worker and ``bare w1``
execute per request (valgrind's callgrind, one keep-alive connection; ours is a second worker
started from the endpoint's own spec, on a socket of its own), and the system calls they make
per request (``strace -c -f`` attached while 16 connections run).

Then: endpoint start-up (create -> healthy, 1 worker, median of ``--starts``, next to
the bare app's spawn -> first 200 as the floor); four 1-worker servers back to back
under 64 connections, each profiled with py-spy (``--no-profile``: measured only): ours
as shipped (``run()`` on the event loop), ours with ``threads=4`` (``run()`` in a thread
pool: the price of the hand-off) and the bare app, the CPU of every thread per request
split by its samples; memory on a fresh
1-worker endpoint: RSS after a warm-up vs after ``--mem-seconds`` (60, shortened from 10
min) paced at half the ``ours w1`` peak, then a 1 GB body (with Content-Length, and
chunked) against the default 10 MB limit.

Targets, at every (workers, clients) pair and in every round (round r of ours against
round r of its peer): ours >= 90 % of the bare app's req/s and p99 no worse than the bare
app's; ours >= 3.5x ``mlflow models serve`` req/s with p99 below MLflow's.  Also:
monitoring <= 5 % of throughput; create -> healthy < 3 s; worker RSS within 1.2x; the
1 GB body refused with 413 and the worker's peak RSS up by < 50 MB.  About 12 minutes
(about 8.5 min of it the 28 s cells, 2 to 3 min the callgrind counts).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import pickle
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _counts  # noqa: E402

sys.path.insert(0, str(C.ROOT / "tests"))
from mlws_testing import stop_group as stop  # noqa: E402  (a server this script started: its process group)

BIN = Path(sys.executable).parent
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
CONCURRENCY = (16, 64)
TICK = os.sysconf("SC_CLK_TCK")

TARGET_VS_MLFLOW = 3.5
TARGET_VS_BARE = 0.90
SPLIT_AT_S = 1.5  # when, into a round, the connections per worker are counted
TARGET_MONITOR = 0.05
TARGET_START_S = 3.0
TARGET_RSS_RATIO = 1.2
TARGET_BIG_MB = 50.0
BIG_BODY = 2**30  # the issue: "a 1 GB request body raises it by less than 50 MB"

SCORE_PY = '''\
"""Iris scoring script (Azure ML contract): init() loads the model, run() predicts."""
import os
import pickle

model = None


def init():
    global model
    with open(os.path.join(os.environ["MLWS_MODEL_DIR"], "model.pkl"), "rb") as f:
        model = pickle.load(f)


def run(data):
    return {"predictions": model.predict(data["data"]).tolist()}
'''

BARE_APP = '''\
"""The ceiling: a raw ASGI app calling predict in-process (no auth, no thread, no monitoring)."""
import json
import os
import pickle

with open(os.environ["BARE_MODEL"], "rb") as f:
    model = pickle.load(f)

HEADERS = [(b"content-type", b"application/json")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200,
                    "headers": HEADERS + [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    data = json.loads(body)
    out = json.dumps({"predictions": model.predict(data["data"]).tolist()}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": HEADERS + [(b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})
'''

WRK_LUA = '''\
wrk.method = "POST"
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
'''


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[bytes] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[0] not in (b"Z", b"X"):
                parent[int(entry)] = int(st[1])
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in parent:
            out.append(p)
            todo.extend(c for c, pp in parent.items() if pp == p)
    return out


def cpu_s(pids) -> float:
    total = 0
    for pid in pids:
        st = _stat(pid)
        if st:
            total += int(st[11]) + int(st[12])  # utime, stime
    return total / TICK


def status_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_hwm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def http_ok(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def wait_http(port: int, path: str, proc: subprocess.Popen, timeout: float, log: Path,
              t0: float | None = None) -> float:
    """Seconds from ``t0`` (default: now) until ``path`` answers 200."""
    t0 = time.perf_counter() if t0 is None else t0
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if http_ok(port, path):
            return time.perf_counter() - t0
        time.sleep(0.02)
    raise RuntimeError(f"server not up after {timeout} s:\n{log.read_text()[-3000:]}")


STARTED: list[subprocess.Popen] = []


def spawn(argv, log: Path, env=None, cwd=None) -> subprocess.Popen:
    out = open(log, "ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, cwd=cwd,
                            start_new_session=True)
    STARTED.append(proc)
    return proc


# -- load generation ----------------------------------------------------------------------


class Target:
    def __init__(self, label: str, port: int, path: str, body: bytes, key: str | None, root_pid,
                 workers: int):
        self.label, self.port, self.path, self.body, self.key = label, port, path, body, key
        self.root_pid = root_pid  # callable: the pid whose tree is the server
        self.workers = workers
        self.sent = 0  # requests completed, all runs

    def pids(self) -> list[int]:
        return descendants(self.root_pid())

    def request_bytes(self) -> bytes:
        head = (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n")
        if self.key:
            head += f"Authorization: Bearer {self.key}\r\n"
        return head.encode() + b"\r\n" + self.body


def run_wrk(t: Target, conns: int, seconds: int, tmp: Path) -> dict:
    script = tmp / "bench.lua"
    if not script.exists():
        script.write_text(WRK_LUA)
    body_file = tmp / f"body-{t.port}.json"
    body_file.write_bytes(t.body)
    env = dict(os.environ, BENCH_BODY_FILE=str(body_file), BENCH_KEY=t.key or "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s",
                           str(script), f"http://127.0.0.1:{t.port}{t.path}"],
                          capture_output=True, text=True, env=env, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    w = json.loads(line[8:])
    dur = w["duration_us"] / 1e6
    errors = w["connect"] + w["read"] + w["write"] + w["status"] + w["timeout"]
    return {"requests": w["requests"], "ok": w["requests"] - w["status"], "errors": errors,
            "error_kinds": {k: w[k] for k in ("connect", "read", "write", "status", "timeout") if w[k]},
            "seconds": dur, "rps": (w["requests"] - w["status"]) / dur,
            "p50_ms": w["p50"] / 1000, "p95_ms": w["p95"] / 1000, "p99_ms": w["p99"] / 1000,
            "max_ms": w["max"] / 1000,
            "loadgen_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}


def run_asyncio(t: Target, conns: int, seconds: float, rate: float | None = None) -> dict:
    spec = {"port": t.port, "request": t.request_bytes().decode("latin-1"), "conns": conns,
            "seconds": seconds, "rate": rate}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, __file__, "--_loadgen", json.dumps(spec)],
                          capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["loadgen_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return out


def loadgen_child(spec: dict) -> None:
    """The asyncio load generator (a child process): bounded by time and by count."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    request = spec["request"].encode("latin-1")
    port, conns, seconds, rate = spec["port"], spec["conns"], spec["seconds"], spec["rate"]
    max_requests = int(seconds * 200_000)
    lat: list[float] = []
    statuses: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    perf = time.perf_counter
    state = {"slot": 0, "sent": 0}

    async def one(t0: float, deadline: float) -> None:
        reader = writer = None
        while perf() < deadline and state["sent"] < max_requests:
            if rate:
                slot = state["slot"]
                state["slot"] += 1
                wait = t0 + slot / rate - perf()
                if wait > 0:
                    await asyncio.sleep(wait)
                if perf() >= deadline:
                    break
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
            state["sent"] += 1
            start = perf()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                low = head.lower()
                i = low.find(b"content-length:")
                if i < 0:
                    raise ValueError("no content-length")
                n = int(low[i + 15:low.find(b"\r\n", i)])
                await reader.readexactly(n)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                errors["read"] += 1
                writer.close()
                writer = None
                continue
            lat.append(perf() - start)
            statuses[int(head[9:12])] += 1
            if b"connection: close" in low:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    async def main() -> float:
        t0 = perf()
        deadline = t0 + seconds
        tasks = [asyncio.ensure_future(one(t0, deadline)) for _ in range(conns)]
        await asyncio.wait(tasks, timeout=seconds + 15)
        for task in tasks:
            task.cancel()
        return perf() - t0

    elapsed = runner(main())
    lat.sort()
    ok = sum(v for k, v in statuses.items() if k < 400)
    bad = sum(v for k, v in statuses.items() if k >= 400)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    print(json.dumps({"requests": len(lat), "ok": ok, "errors": bad + sum(errors.values()),
                      "error_kinds": {**{f"status {k}": v for k, v in statuses.items() if k >= 400},
                                      **errors},
                      "seconds": elapsed, "rps": ok / elapsed, "p50_ms": pick(0.50),
                      "p95_ms": pick(0.95), "p99_ms": pick(0.99), "max_ms": lat[-1] * 1000 if lat else None}))


def machine_busy_s() -> float:
    """CPU-seconds the whole machine has been busy (all CPUs, /proc/stat; idle and iowait left out)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK


def _ss(*args: str) -> str | None:
    try:
        return subprocess.run(["ss", "-Htnp", *args], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def serving_pids(t: Target) -> list[int]:
    """The server's worker processes: those holding its listening socket(s) that have no
    child holding one too (our supervisor, uvicorn's and MLflow's parents are left out)."""
    out = _ss("state", "listening", f"( sport = :{t.port} )")
    holders = {int(p) for p in re.findall(r"pid=(\d+)", out or "")}
    tree = set(t.pids())
    holders &= tree
    return sorted(p for p in holders if not any(c in holders for c in descendants(p) if c != p))


def connection_split(port: int, workers: list[int]) -> list[int] | None:
    """Established connections on ``port`` held by each of ``workers`` (ss), in their order."""
    out = _ss("state", "established", f"( sport = :{port} )")
    if out is None:
        return None
    per = collections.Counter(int(p) for p in re.findall(r"pid=(\d+)", out))
    return [per.get(w, 0) for w in workers]


def load(t: Target, conns: int, seconds: float, gen: str, tmp: Path, split: bool = False) -> dict:
    """One load run; with ``split``, the connections per worker ``SPLIT_AT_S`` s into it."""
    pids = t.pids()
    workers = serving_pids(t) if split else []
    sample: dict = {}
    timer = threading.Timer(SPLIT_AT_S, lambda: sample.update(split=connection_split(t.port, workers)))
    if split:
        timer.start()
    c0 = cpu_s(pids)
    w0 = cpu_s(workers)
    m0 = machine_busy_s()
    r = run_wrk(t, conns, max(1, round(seconds)), tmp) if gen == "wrk" else run_asyncio(t, conns, seconds)
    timer.cancel()
    if split:
        r["split"] = sample.get("split")
        r["worker_pids"] = workers
        # the worker processes alone (ours: without the supervisor; uvicorn's and MLflow's: without
        # their manager process)
        r["worker_cpu_us_per_req"] = (cpu_s(workers) - w0) / max(1, r["requests"]) * 1e6
    r["server_cpu_s"] = cpu_s(pids) - c0
    # what the rest of the machine did meanwhile (other work; the other, idle, servers; this script)
    r["other_cores"] = max(0.0, (machine_busy_s() - m0 - r["server_cpu_s"] - r["loadgen_cpu_s"]) / r["seconds"])
    t.sent += r["requests"]
    r["cpu_us_per_req"] = r["server_cpu_s"] / max(1, r["requests"]) * 1e6
    return r


# -- the servers --------------------------------------------------------------------------


def train(tmp: Path):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    folder = tmp / "model"
    folder.mkdir()
    with open(folder / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    return model, folder


def ours_target(ws, name: str, workers: int, label: str) -> Target:
    info = ws.endpoints.show(name)
    key = ws.endpoints.keys(name)["primary"]
    pid = info["pid"]
    return Target(label, info["port"], "/score", json.dumps({"data": ROWS}).encode(), key,
                  lambda: pid, workers)


def create_endpoint(ws, name: str, script: Path, workers: int, env: dict | None = None) -> dict:
    """``ws.endpoints.create`` until healthy; the seconds at which its processes appeared."""
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    marks: dict[str, float] = {}
    stop_scan = threading.Event()
    t0 = time.perf_counter()

    def scan() -> None:  # when the supervisor and the worker processes show up
        needle = name.encode()
        while not stop_scan.is_set():
            now = time.perf_counter() - t0
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                    except OSError:
                        continue
                    if b"jupyter_mlws.endpoints.serving" in cmd and needle in cmd:
                        marks.setdefault("worker" if b"serving.worker" in cmd else "supervisor", now)
            time.sleep(0.005)

    scanner = threading.Thread(target=scan, daemon=True)
    scanner.start()
    try:
        info = ws.endpoints.create(name, "iris:1", script, workers=workers)
        took = time.perf_counter() - t0
    finally:
        stop_scan.set()
        scanner.join()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert info["state"] == "healthy", info
    return {"healthy": took, **marks}


def start_endpoint(ws, name: str, script: Path, workers: int, **settings) -> None:
    """``ws.endpoints.create(..., wait=False)``: started side by side, waited for together."""
    ws.endpoints.create(name, "iris:1", script, workers=workers, wait=False, **settings)


def wait_healthy(ws, names: list[str], t0: float, timeout: float = 300) -> dict[str, float]:
    """Seconds from ``t0`` until each endpoint was seen healthy."""
    seen: dict[str, float] = {}
    while len(seen) < len(names):
        for name in names:
            if name not in seen:
                info = ws.endpoints.show(name)
                if info["state"] == "healthy":
                    seen[name] = time.perf_counter() - t0
                elif info["state"] in ("failed", "stopped"):
                    raise RuntimeError(f"endpoint {name} {info['state']}: {info['error']}")
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"endpoints not healthy after {timeout} s: {sorted(set(names) - set(seen))}")
        time.sleep(0.05)
    return seen


def worker_pid(ws, name: str) -> int:
    sup = ws.endpoints.show(name)["pid"]
    kids = [p for p in descendants(sup) if p != sup]
    assert len(kids) == 1, kids
    return kids[0]


def check_answer(t: Target, expected: list) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{t.port}{t.path}", data=t.body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {t.key}"} if t.key else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        out = json.loads(r.read())
    assert out["predictions"] == expected, (t.label, out)
    t.sent += 1


def spawn_bare(tmp: Path, workers: int, logs: Path, env: dict, name: str = "bare"
               ) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = spawn([sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(tmp), "--host",
                  "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
                  "--log-level", "warning", "--lifespan", "off"], logs / f"{name}-w{workers}.log", env=env)
    return proc, port, t0


# -- the 1 GB body ------------------------------------------------------------------------


def big_body(port: int, key: str, pid: int, chunked: bool) -> dict:
    reset = reset_hwm(pid)
    rss0 = status_mb(pid)
    hwm0 = status_mb(pid, "VmHWM")
    peak = [rss0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], status_mb(pid))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (f"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\n")
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {BIG_BODY}\r\n\r\n"
    answer = bytearray()
    got_answer = threading.Event()

    def read() -> None:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer.extend(chunk)
                got_answer.set()
        except OSError:
            pass
        got_answer.set()

    t0 = time.perf_counter()
    sent = 0
    error = None
    reader = threading.Thread(target=read, daemon=True)
    try:
        s.sendall(head.encode())
        reader.start()
        piece = b"[" + b"1," * (2**19 - 1) + b"1]"  # 1 MiB of JSON-ish bytes
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        while sent < BIG_BODY:
            s.sendall(frame)
            sent += len(piece)
        if chunked:
            s.sendall(b"0\r\n\r\n")
    except OSError as exc:
        error = type(exc).__name__
    got_answer.wait(30)
    answered_s = time.perf_counter() - t0
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    reader.join(10)
    s.close()
    time.sleep(0.3)
    done.set()
    sampler.join()
    status = int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else None
    hwm1 = status_mb(pid, "VmHWM")
    rss1 = status_mb(pid)
    peak_growth = (hwm1 - rss0) if reset else (peak[0] - rss0)
    return {"mode": "chunked" if chunked else "content-length", "status": status,
            "bytes_sent_mb": sent / 2**20, "send_error": error, "seconds": answered_s,
            "rss_before_mb": rss0, "rss_after_mb": rss1, "hwm_reset": reset, "hwm_before_mb": hwm0,
            "hwm_after_mb": hwm1, "sampled_peak_mb": peak[0], "peak_growth_mb": peak_growth,
            "answer": bytes(answer[:300]).decode("latin-1", "replace")}


# -- the profile ----------------------------------------------------------------------------

# -- where the CPU goes: py-spy under HTTP load -------------------------------------------

# A sample goes to the first category one of whose substrings is in one of its frames.
CATEGORIES = [
    ("model: predict (sklearn, numpy) in score.py / the bare app", ["sklearn/", "numpy/", "(score.py"]),
    ("monitoring: Monitor.record", ["record (jupyter_mlws/endpoints/serving/monitor.py"]),
    ("auth: _authorised (2 x hmac.compare_digest)", ["_authorised (jupyter_mlws/endpoints/serving/app.py"]),
    ("request JSON: json.loads", ["loads (json/__init__.py"]),
    ("response JSON: json.dumps", ["dumps (json/__init__.py"]),
    ("handoff, loop side: ThreadPoolExecutor.submit (Future + Condition, Semaphore, queue)",
     ["ThreadPoolExecutor.submit (concurrent/futures/thread.py"]),
    ("handoff, loop side: asyncio.wait_for (waiter future, timer, extra hop)",
     ["wait_for (asyncio/tasks.py", "_release_waiter (asyncio/tasks.py"]),
    ("handoff, loop side: run_in_executor result chaining",
     ["_chain_future", "_copy_future_state", "wrap_future", "run_in_executor", "_call_check_cancel"]),
    ("handoff, executor side: _WorkItem, _call, set_result, wake the loop",
     ["concurrent/futures/", "_call (jupyter_mlws/endpoints/serving/app.py"]),
    ("the answer: our respond() (one transport.write) / uvicorn's ASGI send (headers, transport.write)",
     ["respond (jupyter_mlws/endpoints/serving/connection.py", "RequestResponseCycle.send (uvicorn"]),
    ("app code, own lines (ours: head, _admit, _drain, _score, reply)",
     ["jupyter_mlws/endpoints/serving/app.py", "(bare_app.py"]),
    ("HTTP: parsing, the connection (ours: connection.py + guards; uvicorn's protocol, a task per request)",
     ["jupyter_mlws/endpoints/serving/connection.py", "jupyter_mlws/endpoints/serving/protocol.py",
      "uvicorn/protocols/"]),
    ("worker's own threads: watchdog, status pipe, monitor flush",
     ["watchdog (jupyter_mlws", "StatusPipe", "Monitor.flush", "Monitor.take", "Monitor.start",
      "read_config (jupyter_mlws"]),
    ("event loop internals (uvloop C: epoll, socket I/O, re-taking the GIL)",
     ["Runner.run (asyncio/runners.py"]),
]
#: leaf frames of a thread that waits (for work, a lock or a timer): not CPU work
WAITING = ("_worker (concurrent/futures/thread.py:81)", "Condition.wait (threading.py",
           "read_config (jupyter_mlws", "watchdog (jupyter_mlws", "Event.wait (threading.py")


def thread_ticks(pid: int) -> dict[int, int]:
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            st = Path(f"/proc/{pid}/task/{tid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = int(st[11]) + int(st[12])
    return out


def py_spy() -> str | None:
    return shutil.which("py-spy") or (str(BIN / "py-spy") if (BIN / "py-spy").exists() else None)


def profile(t: Target, pid: int, conns: int, seconds: int, gen: str, tmp: Path, out: Path) -> dict | None:
    """CPU µs per request of each thread group of ``pid`` (/proc) under load, split by py-spy.

    The load runs ``seconds`` + 2 s; ``py-spy record --nonblocking`` samples ``seconds``
    of it at 100 Hz.  Samples whose leaf is a wait (WAITING) are dropped; each thread
    group's measured CPU is shared out in proportion to its remaining samples.
    """
    spy = py_spy()
    if not spy:
        return None
    holder: dict = {}
    before = thread_ticks(pid)
    th = threading.Thread(target=lambda: holder.update(r=load(t, conns, seconds + 2, gen, tmp)))
    th.start()
    time.sleep(1)
    proc = subprocess.run([spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "100", "-f", "raw",
                           "--threads", "--nonblocking", "-o", str(out)], capture_output=True,
                          text=True, timeout=seconds + 60)
    th.join()
    after = thread_ticks(pid)
    if proc.returncode != 0 or not out.exists():
        return {"error": (proc.stderr or proc.stdout)[-1500:]}
    requests = holder["r"]["requests"]
    groups: dict[int, str] = {}
    samples: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    numpy_gil = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit() or not stack.startswith("thread ("):
            continue
        head, *frames = stack.split(";")
        tid = int(head[len("thread ("):head.index(")")])
        name = head.split(": ", 1)[1] if ": " in head else str(tid)
        group = ("event loop thread" if name == "MainThread" else
                 "executor threads (run())" if name.startswith("mlws-run") else "other threads")
        groups[tid] = group
        if frames and frames[-1].startswith(WAITING):
            continue
        if frames and frames[-1].startswith("_wrapfunc (numpy/") and len(frames) > 1 and \
                frames[-2].startswith(("argmax (", "take (")):
            numpy_gil[group] += int(n)
        label = next((lab for lab, subs in CATEGORIES
                      if any(sub in f for sub in subs for f in frames)), "other")
        samples[group][label] += int(n)
    cpu_us: collections.Counter = collections.Counter()
    for tid, ticks in after.items():
        cpu_us[groups.get(tid, "other threads")] += (ticks - before.get(tid, 0)) / TICK * 1e6 / max(1, requests)
    by_label: collections.Counter = collections.Counter()
    rows = []
    for group, us in cpu_us.most_common():
        total = sum(samples[group].values())
        for label, n in samples[group].most_common():
            rows.append([group, label, n, us * n / total])
            by_label[label] += us * n / total
        if not total and us:
            rows.append([group, "(no samples)", 0, us])
            by_label["(no samples)"] += us
    return {"seconds": seconds, "requests": requests, "rps": holder["r"]["rps"],
            "cpu_us_per_req": dict(cpu_us), "total_us_per_req": sum(cpu_us.values()), "rows": rows,
            "by_label": dict(by_label), "samples": {g: sum(c.values()) for g, c in samples.items()},
            "numpy_gil_samples": dict(numpy_gil)}


# -- per request, counted: instructions (callgrind) and system calls (strace) ---------------

COUNT_S = 8  # seconds of load per server and round under callgrind
COUNT_ROUNDS = 2
SYSCALL_S = 3  # seconds of load while strace counts
#: the same counts at commit a6c4a38 (on a quiet machine), before the workers spoke HTTP themselves:
#: uvicorn's HTTP protocol and an ASGI app, the accept queue read once a request
EARLIER = {"commit": "a6c4a38", "instructions_k": (1091.1, 1072.6), "syscalls": (4.13, 3.10)}


def _drain(fd: int, ready: threading.Event) -> None:
    """Read a worker's status pipe until it closes (so that it never blocks), noting ``ready``."""
    with os.fdopen(fd, "rb") as f:
        for line in f:
            if b'"event":"ready"' in line:
                ready.set()


def callgrind_ours(ws, name: str, tmp: Path, logs: Path) -> tuple[_counts.Callgrind, Target]:
    """A second worker of endpoint ``name``, under callgrind, serving a socket of its own.

    It is the endpoint's own worker command (its spec: deployments, settings; read from the
    running worker's /proc/PID/cmdline) started the way the supervisor starts one: the listening
    socket and a status pipe passed down, the keys and traffic written to its stdin.
    """
    argv = Path(f"/proc/{worker_pid(ws, name)}/cmdline").read_bytes().decode().split("\0")
    spec = argv[argv.index("jupyter_mlws.endpoints.serving.worker") + 1]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    read_fd, write_fd = os.pipe()
    env = dict(os.environ)
    env.pop("MLWS_RUN_ID", None)
    cg = _counts.Callgrind([argv[0], "-m", "jupyter_mlws.endpoints.serving.worker", spec,
                            str(sock.fileno()), "0", str(write_fd)], tmp / "callgrind",
                           logs / "callgrind-ours.log", stdin=subprocess.PIPE,
                           pass_fds=(sock.fileno(), write_fd), env=env, cwd=str(Path(spec).parent))
    os.close(write_fd)
    ready = threading.Event()
    threading.Thread(target=_drain, args=(read_fd, ready), daemon=True).start()
    keys = ws.endpoints.keys(name)
    traffic = {d["name"]: d["traffic"] for d in ws.endpoints.show(name)["deployments"]}
    cg.proc.stdin.write((json.dumps({"keys": [keys["primary"], keys["secondary"]],
                                     "traffic": traffic}) + "\n").encode())
    cg.proc.stdin.flush()
    port = sock.getsockname()[1]
    sock.close()  # the worker holds its own copy
    if not ready.wait(600):
        raise RuntimeError(f"the worker under callgrind did not start: {logs / 'callgrind-ours.log'}")
    return cg, Target("ours w1 (callgrind)", port, "/score", json.dumps({"data": ROWS}).encode(),
                      keys["primary"], lambda: cg.proc.pid, 1)


def callgrind_bare(tmp: Path, logs: Path, env: dict) -> tuple[_counts.Callgrind, Target]:
    """The bare app, 1 worker, under callgrind."""
    port = free_port()
    t0 = time.perf_counter()
    cg = _counts.Callgrind([sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(tmp),
                            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                            "--no-access-log", "--log-level", "warning", "--lifespan", "off"],
                           tmp / "callgrind", logs / "callgrind-bare.log", env=env, cwd=str(tmp))
    wait_http(port, "/health", cg.proc, 600, logs / "callgrind-bare.log", t0)
    return cg, Target("bare w1 (callgrind)", port, "/score", json.dumps({"data": ROWS}).encode(), None,
                      lambda: cg.proc.pid, 1)


def count_instructions(ws, tmp: Path, logs: Path, bare_env: dict, expected: list) -> dict:
    """Instructions per request of ``ours-w1``'s worker and of the bare app (1 worker each), on one
    keep-alive connection (each request a wake-up of its own: no batching that a busy machine
    would change), ``COUNT_ROUNDS`` rounds of ``COUNT_S`` s each, alternating."""
    servers = {}
    try:
        servers["ours-w1"] = callgrind_ours(ws, "ours-w1", tmp, logs)
        servers["bare-w1"] = callgrind_bare(tmp, logs, bare_env)
        for _cg, t in servers.values():
            check_answer(t, expected)
            run_wrk(t, 1, 1, tmp)  # warm-up, instrumentation off
        out: dict = {k: [] for k in servers}
        for rnd in range(COUNT_ROUNDS):
            for key in (list(servers) if rnd % 2 == 0 else list(servers)[::-1]):
                cg, t = servers[key]
                instr, r = cg.count(lambda t=t: run_wrk(t, 1, COUNT_S, tmp))
                out[key].append({"instructions": instr, "requests": r["requests"], "errors": r["errors"],
                                 "per_request": instr / max(1, r["requests"])})
                print(f"  callgrind round {rnd + 1}  {key:<8} {instr / max(1, r['requests']) / 1000:8.1f} "
                      f"k instructions/request ({r['requests']} requests, {r['errors']} errors)", flush=True)
        return out
    finally:
        for cg, _t in servers.values():
            cg.stop()


def count_syscalls(targets: dict, pids: dict, gen: str, tmp: Path) -> dict:
    """System calls per request of each of ``pids`` (key -> pid) under 16 connections (strace)."""
    out = {}
    for key, pid in pids.items():
        t = targets[key]
        counts, r = _counts.syscalls(pid, lambda t=t: (run_wrk(t, 16, SYSCALL_S, tmp) if gen == "wrk"
                                                       else run_asyncio(t, 16, SYSCALL_S)),
                                     tmp / f"strace-{key}.txt")
        t.sent += r["requests"]
        out[key] = {"requests": r["requests"], "calls": counts}
    return out


def monitor_record_ns() -> float:
    """One ``Monitor.record`` call in this process (median of 5 x 100,000)."""
    from jupyter_mlws.endpoints.serving.monitor import Monitor

    m = Monitor(lambda b, s: None)
    rec = m.record
    out = []
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for _ in range(100_000):
            rec("blue", 200, 1.7)
        out.append((time.perf_counter_ns() - t0) / 100_000)
    return statistics.median(out)


# -- the benchmark --------------------------------------------------------------------------


def split_text(r: dict) -> str:
    """The connections per worker of a round, e.g. ``9+7``; ``?`` when not sampled."""
    return "+".join(map(str, r["split"])) if r.get("split") else "?"


def fmt(x, nd=1):
    if x is None or x != x:
        return "n/a"
    return f"{x:,.{nd}f}"


LABELS = {"ours-w1": "jupyter_mlws endpoint",
          "bare-w1": "bare ASGI app + uvicorn",
          "ctrl-w1": "control: a second bare app + uvicorn",
          "mlflow-w1": "`mlflow models serve -w 1` (MLflow's default)",
          "ours-w2": "jupyter_mlws endpoint",
          "bare-w2": "bare ASGI app + `uvicorn --workers 2`",
          "ctrl-w2": "control: a second bare app + `uvicorn --workers 2`",
          "mlflow-w2": "`mlflow models serve -w 2`",
          "ours-nomon": "jupyter_mlws endpoint, monitoring off"}
WORKERS = {"ours-w1": 1, "bare-w1": 1, "mlflow-w1": 1, "ours-w2": 2, "bare-w2": 2, "mlflow-w2": 2,
           "ctrl-w1": 1, "ctrl-w2": 2,
           "ours-nomon": 1}
#: run back to back in every round, in this order or reversed: the servers compared with each other
#: (same worker count; ours w1 and its monitoring-off twin; the bare app and its control copy) run
#: seconds apart, each pair as close as ours and the bare app
GROUPS = [["ours-nomon", "ours-w1", "bare-w1", "ctrl-w1", "mlflow-w1"],
          ["ours-w2", "bare-w2", "ctrl-w2", "mlflow-w2"]]
#: profiled back to back at the end, 64 connections (ours as shipped, two variants, the ceiling)
PROFILED = ["ours-w1", "ours-t4", "bare-w1"]
PROFILE_S = 4  # py-spy seconds, inside a load of PROFILE_S + 2
PROFILE_LABELS = {"ours-w1": "ours w1 (as shipped: run() on the loop)",
                  "ours-t4": "ours w1, threads=4 (run() in a pool)", "bare-w1": "bare w1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=28,
                    help="load seconds per server and concurrency (default 28: 4 rounds of 7 s)")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds they are split in (default 4)")
    ap.add_argument("--mem-seconds", type=float, default=60, help="the sustained half-peak run (default 60)")
    ap.add_argument("--starts", type=int, default=3, help="endpoint starts timed (default 3)")
    ap.add_argument("--loadgen", choices=["auto", "wrk", "asyncio"], default="auto",
                    help="auto: wrk when on PATH, else the asyncio generator")
    ap.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    ap.add_argument("--no-counts", action="store_true",
                    help="skip the instructions (valgrind) and system calls (strace) per request")
    ap.add_argument("--report-from", metavar="JSON",
                    help="render the report again from a run's figures (bench/out/serving.json)")
    ap.add_argument("--_loadgen", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._loadgen:
        return loadgen_child(json.loads(args._loadgen))
    if args.report_from:
        import shlex

        recorded = json.loads(Path(args.report_from).read_text())
        for field in ("monitor_pairs", "cells"):  # JSON made their concurrency keys strings
            recorded[field] = {(int(k) if k.isdigit() else k): ({int(c): v for c, v in val.items()}
                                                                if field == "cells" else val)
                               for k, val in recorded[field].items()}
        # the options of the run that made the figures, not of this re-rendering
        argv = shlex.split(recorded["command"])
        return report(recorded, ap.parse_args(argv[argv.index("bench/serving.py") + 1:]), recorded)
    gen = args.loadgen
    if gen == "auto":
        gen = "wrk" if shutil.which("wrk") else "asyncio"
    elif gen == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not on PATH: apt-get install -y wrk, or use --loadgen asyncio")
    round_s = max(1, round(args.seconds / args.rounds))
    t_start = time.perf_counter()
    tmp = C.tmpdir("serving")
    logs = tmp / "logs"
    logs.mkdir()
    print(f"temp dir {tmp}; load generator {gen}; {args.rounds} rounds of {round_s} s per cell", flush=True)

    # -- set-up (not timed): the model, our workspace, MLflow's store
    model, model_dir = train(tmp)
    expected = model.predict(ROWS).tolist()
    ws = C.open_workspace(tmp)
    ws.register_model("iris", model_dir)
    script = tmp / "score.py"
    script.write_text(SCORE_PY)
    (tmp / "bare_app.py").write_text(BARE_APP)
    mlflow, _client, _exp = C.mlflow_setup(tmp / "mlflow", "serving")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model")
    mlflow_uri = f"runs:/{run.info.run_id}/model"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    bare_env = dict(env, BARE_MODEL=str(model_dir / "model.pkl"))
    endpoints: list[str] = []
    servers: dict[str, subprocess.Popen] = {}
    res: dict = {"loadgen": gen, "round_s": round_s, "rounds": args.rounds, "seconds": args.seconds}
    try:
        # -- start-up: create -> healthy (fresh endpoints, 1 worker), and the bare app's floor
        starts, floors = [], []
        for i in range(args.starts):
            name = f"start{i}"
            endpoints.append(name)
            starts.append(create_endpoint(ws, name, script, 1))
            ws.endpoints.delete(name)
            endpoints.remove(name)
            proc, port, t0 = spawn_bare(tmp, 1, logs, bare_env)
            floors.append(wait_http(port, "/health", proc, 60, logs / "bare-w1.log", t0))
            stop(proc)
        res["starts"], res["bare_starts"] = starts, floors
        print("create -> healthy:", [round(s["healthy"], 2) for s in starts], "s; bare app up:",
              [round(f, 2) for f in floors], "s", flush=True)

        # -- the servers under test, all up at once
        t0m = time.perf_counter()
        mports = {w: free_port() for w in (1, 2)}
        for w, mport in mports.items():
            servers[f"mlflow-w{w}"] = spawn([str(BIN / "mlflow"), "models", "serve", "-m", mlflow_uri,
                                             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mport),
                                             "-w", str(w)], logs / f"mlflow-w{w}.log", env=env)
        # the bare app, and a second copy of it: the control pair that shows what the per-round
        # rule gives for two identical servers (the noise of the machine)
        bare = {f"{kind}-w{w}": spawn_bare(tmp, w, logs, bare_env, kind) for kind in ("bare", "ctrl")
                for w in (1, 2)}
        for key, (proc, _port, _t0) in bare.items():
            servers[key] = proc
        # our endpoints start side by side (create(wait=False), then wait for all of them)
        variants = {"ours-w1": (1, {}), "ours-nomon": (1, {"monitoring": False}),
                    "ours-w2": (2, {}), "ours-t4": (1, {"threads": 4})}
        t0o = time.perf_counter()
        for name, (workers, settings) in variants.items():
            endpoints.append(name)
            start_endpoint(ws, name, script, workers, **settings)
        up = wait_healthy(ws, list(variants), t0o)
        for key, (proc, port, t0) in bare.items():
            up[key] = wait_http(port, "/health", proc, 60, logs / f"{key}.log", t0)
        for w, mport in mports.items():
            up[f"mlflow-w{w}"] = wait_http(mport, "/ping", servers[f"mlflow-w{w}"], 180,
                                           logs / f"mlflow-w{w}.log", t0m)
        res["up_s"] = up
        body = json.dumps({"data": ROWS}).encode()
        targets = {
            "ours-w1": ours_target(ws, "ours-w1", 1, LABELS["ours-w1"]),
            "ours-nomon": ours_target(ws, "ours-nomon", 1, LABELS["ours-nomon"]),
            "ours-w2": ours_target(ws, "ours-w2", 2, LABELS["ours-w2"]),
            **{f"mlflow-w{w}": Target(LABELS[f"mlflow-w{w}"], mport, "/invocations",
                                      json.dumps({"inputs": ROWS}).encode(), None,
                                      lambda w=w: servers[f"mlflow-w{w}"].pid, w)
               for w, mport in mports.items()},
            **{key: Target(LABELS[key], port, "/score", body, None, lambda key=key: servers[key].pid,
                           WORKERS[key]) for key, (_proc, port, _t0) in bare.items()},
        }
        extra_targets = {
            "ours-t4": ours_target(ws, "ours-t4", 1, "jupyter_mlws endpoint, 1 worker, threads=4"),
        }
        for t in [*targets.values(), *extra_targets.values()]:
            check_answer(t, expected)
        print("every server answers the same predictions:", expected, flush=True)
        for t in targets.values():  # warm-up
            load(t, 16, 1, gen, tmp)

        # -- throughput and latency: interleaved rounds
        cells: dict = {k: {c: [] for c in CONCURRENCY} for k in targets}
        for conns in CONCURRENCY:
            for rnd in range(args.rounds):
                k = rnd % len(GROUPS)
                for group in GROUPS[k:] + GROUPS[:k]:
                    for key in (group if rnd % 2 == 0 else group[::-1]):
                        r = load(targets[key], conns, round_s, gen, tmp, split=True)
                        r["loadavg"] = C.loadavg()
                        cells[key][conns].append(r)
                        print(f"  c={conns:<3} round {rnd + 1}  {key:<10} {r['rps']:7,.0f} req/s  p50 "
                              f"{r['p50_ms']:6.2f}  p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}  "
                              f"server {r['cpu_us_per_req']:5.0f} µs CPU/req (workers "
                              f"{r['worker_cpu_us_per_req']:5.0f})  split {split_text(r)}  "
                              f"load {r['loadavg']}", flush=True)
        summary: dict = {}
        for key in targets:
            for conns in CONCURRENCY:
                rs = cells[key][conns]
                summary[f"{key}@{conns}"] = {
                    "rps": statistics.median(r["rps"] for r in rs),
                    "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                    "p95_ms": statistics.median(r["p95_ms"] for r in rs),
                    "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                    "max_ms": max(r["max_ms"] or 0 for r in rs),
                    "requests": sum(r["requests"] for r in rs),
                    "errors": sum(r["errors"] for r in rs),
                    "error_kinds": dict(sum((collections.Counter(r["error_kinds"]) for r in rs),
                                            collections.Counter())),
                    "cpu_us_per_req": statistics.median(r["cpu_us_per_req"] for r in rs),
                    "worker_cpu_us_per_req": statistics.median(r["worker_cpu_us_per_req"] for r in rs),
                    "loadgen_cpu_pct": statistics.median(100 * r["loadgen_cpu_s"] / r["seconds"] for r in rs),
                    "other_cores": statistics.median(r["other_cores"] for r in rs),
                    "other_cores_max": max(r["other_cores"] for r in rs),
                }
        res["monitor_pairs"] = {c: [a["rps"] / b["rps"] for a, b in zip(cells["ours-w1"][c],
                                                                       cells["ours-nomon"][c])]
                                for c in CONCURRENCY}
        res["cells"], res["summary"] = cells, summary
        # -- where the CPU goes: back to back under 64 connections, each profiled with py-spy
        res["profile"] = {}
        every = {**targets, **extra_targets}
        for key in PROFILED:
            pid = servers[key].pid if key.startswith("bare") else worker_pid(ws, key)
            if args.no_profile:
                r = load(every[key], 64, PROFILE_S + 2, gen, tmp)
                r["cpu_us_per_req"] = r["server_cpu_s"] / max(1, r["requests"]) * 1e6
                res["profile"][key] = {"rps": r["rps"], "total_us_per_req": r["cpu_us_per_req"],
                                       "p99_ms": r["p99_ms"], "errors": r["errors"]}
                continue
            res["profile"][key] = profile(every[key], pid, 64, PROFILE_S, gen, tmp, tmp / f"pyspy-{key}.txt")
            if res["profile"][key] and (tmp / f"pyspy-{key}.txt").exists():
                C.OUT.mkdir(exist_ok=True)
                shutil.copy(tmp / f"pyspy-{key}.txt", C.OUT / f"serving.pyspy-{key}.txt")
        # -- per request, counted (other work does not move these): system calls, instructions
        if not args.no_counts and _counts.available("strace"):
            res["syscalls"] = count_syscalls(every, {"ours-w1": worker_pid(ws, "ours-w1"),
                                                     "bare-w1": servers["bare-w1"].pid}, gen, tmp)
        if not args.no_counts and _counts.available("valgrind"):
            res["instructions"] = count_instructions(ws, tmp, logs, bare_env, expected)
        # monitoring counted what was served (the worker flushes every 2 s, the supervisor writes
        # every 2 s: the bare app's profile run gave them the time)
        res["monitor_counted"] = {k: ws.endpoints.metrics(k, 3600)["total"]["count"]
                                  for k in ("ours-w1", "ours-w2", "ours-nomon")}
        res["monitor_sent"] = {k: targets[k].sent for k in ("ours-w1", "ours-w2", "ours-nomon")}
        res["monitor_record_ns"] = monitor_record_ns()
        for p in servers.values():
            stop(p)
        for name in variants:
            ws.endpoints.delete(name)
            endpoints.remove(name)

        # -- memory on a fresh 1-worker endpoint
        endpoints.append("mem")
        create_endpoint(ws, "mem", script, 1)
        mem_t = ours_target(ws, "mem", 1, "memory")
        pid = worker_pid(ws, "mem")
        rss_fresh = status_mb(pid)
        warm = load(mem_t, 16, 2, gen, tmp)
        time.sleep(1)
        rss_warm = status_mb(pid)
        half = summary["ours-w1@64"]["rps"] / 2
        trace: list[float] = []
        holder: dict = {}
        th = threading.Thread(target=lambda: holder.update(r=run_asyncio(mem_t, 16, args.mem_seconds,
                                                                         rate=half)))
        th.start()
        while th.is_alive():
            trace.append(round(status_mb(pid), 1))
            th.join(5)
        time.sleep(1)
        rss_after = status_mb(pid)
        big = [big_body(mem_t.port, mem_t.key, pid, chunked=False),
               big_body(mem_t.port, mem_t.key, pid, chunked=True)]
        check_answer(mem_t, expected)
        res["memory"] = {"rss_fresh_mb": rss_fresh, "rss_warm_mb": rss_warm, "warm_requests": warm["requests"],
                         "rss_after_mb": rss_after, "trace_mb": trace, "target_rps": half,
                         "sustained": holder["r"], "big": big}
        ws.endpoints.delete("mem")
        endpoints.remove("mem")
    finally:
        for p in servers.values():
            stop(p)
        for name in list(endpoints):
            try:
                ws.endpoints.delete(name)
            except Exception as exc:
                print(f"could not delete endpoint {name}: {exc}", file=sys.stderr)
        ws.close()
    res["total_s"] = time.perf_counter() - t_start
    report(res, args)


def counts_text(res: dict) -> str:
    """The instructions and system calls per request of ours w1 and bare w1, as Markdown."""
    ins, sc = res.get("instructions"), res.get("syscalls")
    if not ins and not sc:
        return "Not measured (`--no-counts`, or neither valgrind nor strace on PATH)."
    parts = []
    if ins:
        ours = [r["per_request"] for r in ins["ours-w1"]]
        bare = [r["per_request"] for r in ins["bare-w1"]]
        rows = [["ours w1: the endpoint's worker process"] + [fmt(x / 1000, 1) for x in ours]
                + [fmt(statistics.median(ours) / 1000, 1)],
                ["bare w1"] + [fmt(x / 1000, 1) for x in bare] + [fmt(statistics.median(bare) / 1000, 1)],
                ["**ours / bare**"] + [f"{a / b:.3f}x" for a, b in zip(ours, bare)]
                + [f"{statistics.median(ours) / statistics.median(bare):.3f}x"]]
        parts.append(C.table(["thousand instructions per request"] + [f"round {i + 1}" for i in range(len(ours))]
                             + ["median"], rows))
        parts.append(
            "Instructions executed in user space by every thread of the server process, per request "
            "served: `valgrind --tool=callgrind`, instrumentation switched on only while the load ran "
            f"(wrk, **one** keep-alive connection, {COUNT_S} s per round, the two alternating; one "
            "connection makes every request a wake-up of the event loop of its own, so no batching "
            "that other work on the machine would change). Ours is a second worker of the `ours w1` "
            "endpoint: the endpoint's own worker command and spec (its score.py, model, settings: "
            "key check, monitoring, guards, timeouts), started as its supervisor starts one, on a "
            "socket of its own. `iris` `predict` is most of both. Valgrind runs a process some 50 times "
            "slower, so what ours does per second rather than per request (its heartbeat, the statistics "
            "flush) is shared among fewer requests than at full speed. The kernel's work is not in these "
            "counts: its system calls follow.")
        (o_k, b_k), (o_s, b_s) = EARLIER["instructions_k"], EARLIER["syscalls"]
        parts.append(
            f"Before, at commit {EARLIER['commit']} (uvicorn's HTTP protocol and an ASGI app in the workers, "
            f"their accept queue read once a request; a quiet machine): {o_k:,.1f} k against {b_k:,.1f} k "
            f"instructions ({o_k / b_k:.3f}x), {o_s:.2f} against {b_s:.2f} system calls per request.")
    if sc:
        o, b = sc["ours-w1"], sc["bare-w1"]
        per = {k: {name: n / max(1, d["requests"]) for name, n in d["calls"].items()} for k, d in sc.items()}
        names = sorted({n for k in per for n, x in per[k].items() if x >= 0.01},
                       key=lambda n: -max(per[k].get(n, 0) for k in per))
        rows = [[f"`{n}`", fmt(per["ours-w1"].get(n, 0.0), 2), fmt(per["bare-w1"].get(n, 0.0), 2)] for n in names]
        rows.append(["**all**", fmt(sum(per["ours-w1"].values()), 2), fmt(sum(per["bare-w1"].values()), 2)])
        parts.append(C.table(["system calls per request", "ours w1 (worker process)", "bare w1"], rows))
        parts.append(
            f"`strace -c -f` attached to the process (every thread) while wrk ran 16 connections for "
            f"{SYSCALL_S} s ({o['requests']:,} and {b['requests']:,} requests); calls made at least once "
            "per 100 requests by one of them. strace slows the process down: only the counts are shown, "
            "and calls made per unit of time count for more requests than at full speed (ours: one "
            "`write` per answer, head and body together; `getsockopt` reads its accept queue for "
            "`max_inflight` only after run() calls kept its loop from polling for over 10 ms, until "
            "it finds the queue empty; `futex`: its side threads).")
    return "\n\n".join(parts)


def report(res: dict, args, recorded: dict | None = None) -> None:
    S = res["summary"]
    cells = res["cells"]
    gen, round_s = res["loadgen"], res["round_s"]
    rows = []
    shown = [k for k in LABELS if k in cells]  # a run recorded before the control pair has none
    for conns in CONCURRENCY:
        for key in shown:
            s = S[f"{key}@{conns}"]
            kinds = ", ".join(f"{k} {v}" for k, v in s["error_kinds"].items())
            rows.append([conns, WORKERS[key], LABELS[key], fmt(s["rps"], 0), fmt(s["p50_ms"], 2),
                         fmt(s["p95_ms"], 2), fmt(s["p99_ms"], 2),
                         f"{s['errors']}" + (f" ({kinds})" if kinds else ""),
                         f"{s['requests']:,}", fmt(s["cpu_us_per_req"], 0),
                         fmt(s["rps"] * s["cpu_us_per_req"] / 1e6, 2), fmt(s["loadgen_cpu_pct"], 0),
                         f"{s['other_cores']:.2f} ({s['other_cores_max']:.2f})"])
    table1 = C.table(["clients", "workers", "server", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
                      "requests", "server CPU µs/req", "server cores busy", "loadgen CPU %",
                      "other work, cores (max)"], rows)

    # every round: req/s, p99 and the connections per worker process
    nrounds = max(len(cells[k][c]) for k in cells for c in CONCURRENCY)
    per_round = []
    for conns in CONCURRENCY:
        for key in shown:
            per_round.append([conns, WORKERS[key], LABELS[key]] + [
                f"{fmt(r['rps'], 0)} · {fmt(r['p99_ms'], 1)} ms · {split_text(r)}"
                for r in cells[key][conns]])
    table_rounds = C.table(["clients", "workers", "server"] + [f"round {i + 1}: req/s · p99 · split"
                                                             for i in range(nrounds)], per_round)

    def rounds_of(a: str, b: str, conns: int) -> list[tuple[dict, dict]]:
        return list(zip(cells[a][conns], cells[b][conns]))

    def every_round(peer: str, name: str, target: float, as_ratio, p99_rule: str, p99_ok,
                    control: bool = False) -> None:
        """Verdict rows of ours against ``peer`` (same worker count), judged in every round; with
        ``control``, each followed by what the same rule gives for the bare app's second copy
        against the bare app (information: two identical servers, so only the machine's noise)."""
        def rows(mine: str, mine_name: str, w: int, conns: int, info: bool) -> list[list]:
            pairs = rounds_of(f"{mine}-w{w}", f"{peer}-w{w}", conns)
            ratios = [a["rps"] / b["rps"] for a, b in pairs]
            p99s = [(a["p99_ms"], b["p99_ms"]) for a, b in pairs]
            ok_rps, ok_p99 = min(ratios) >= target, all(p99_ok(a, b) for a, b in p99s)
            prefix = "control (info): " if info else ""
            return [[f"{prefix}req/s: {mine_name} w{w} / {name.format(w=w)}, {conns} clients, every round",
                     f"worst {as_ratio(min(ratios))} (rounds: " + ", ".join(map(as_ratio, ratios)) + ")",
                     f">= {as_ratio(target)} in every round",
                     f"(would {'pass' if ok_rps else 'FAIL'})" if info else C.verdict(ok_rps)],
                    [f"{prefix}p99: {mine_name} w{w} vs {name.format(w=w)}, {conns} clients, every round",
                     ", ".join(f"{a:.1f} vs {b:.1f}" for a, b in p99s) + " ms",
                     f"{p99_rule} in every round",
                     f"(would {'pass' if ok_p99 else 'FAIL'})" if info else C.verdict(ok_p99)]]

        for w in (1, 2):
            for conns in CONCURRENCY:
                ours = rows("ours", "ours", w, conns, False)
                if control and all(cells.get(f"ctrl-w{w}", {}).get(conns) for w in (1, 2)):
                    ctrl = rows("ctrl", "a second bare", w, conns, True)
                    v.extend([ours[0], ctrl[0], ours[1], ctrl[1]])
                else:
                    v.extend(ours)

    v = []
    every_round("bare", "bare w{w}", TARGET_VS_BARE, lambda x: f"{100 * x:.0f} %",
                "no worse than bare's", lambda a, b: a <= b, control=True)
    every_round("mlflow", "`mlflow models serve -w {w}`", TARGET_VS_MLFLOW, lambda x: f"{x:.2f}x",
                "below MLflow's", lambda a, b: a < b)
    for w in (1, 2):
        for conns in CONCURRENCY:
            ceiling = S[f"bare-w{w}@{conns}"]["rps"] / S[f"mlflow-w{w}@{conns}"]["rps"]
            v.append([f"req/s (info): the ceiling, bare w{w} / `mlflow models serve -w {w}`, "
                      f"{conns} clients, medians", fmt(ceiling, 2) + "x", "(info)", ""])
    for w in (1, 2):
        for conns in CONCURRENCY:
            a, b = S[f"ours-w{w}@{conns}"]["cpu_us_per_req"], S[f"bare-w{w}@{conns}"]["cpu_us_per_req"]
            v.append([f"requests per CPU-second (info): ours w{w} / bare w{w}, {conns} clients "
                      "(bare µs/req ÷ ours, every process of the server)",
                      f"{100 * b / a:.0f} % ({b:.0f} / {a:.0f} µs)", "(info)", ""])
    for w in (1, 2):
        for conns in CONCURRENCY:
            pairs = [(a.get("worker_cpu_us_per_req"), b.get("worker_cpu_us_per_req"))
                     for a, b in rounds_of(f"ours-w{w}", f"bare-w{w}", conns)]
            if any(a is None or b is None for a, b in pairs):
                continue  # figures of a run from before the worker processes were counted apart
            a, b = (S[f"ours-w{w}@{conns}"]["worker_cpu_us_per_req"],
                    S[f"bare-w{w}@{conns}"]["worker_cpu_us_per_req"])
            v.append([f"requests per CPU-second of the worker processes (info): ours w{w} / bare w{w}, "
                      f"{conns} clients (bare µs/req ÷ ours)",
                      f"medians {100 * b / a:.0f} % ({b:.0f} / {a:.0f} µs); rounds: "
                      + ", ".join(f"{100 * y / x:.0f} %" for x, y in pairs), "(info)", ""])
    for key in ("ours-w2", "bare-w2", "mlflow-w2"):
        for conns in CONCURRENCY:
            splits = [r.get("split") for r in cells[key][conns]]
            lone = sum(1 for sp in splits if sp and min(sp) == 0)
            worst = max((max(sp) for sp in splits if sp), default=None)
            v.append([f"connections per worker (info): {key.replace('-', ' ')}, {conns} clients",
                      f"{lone} of {len(splits)} rounds with an idle worker; busiest worker held at most "
                      f"{worst} of {conns}" if worst is not None else "not sampled (no ss)", "(info)", ""])
    # monitoring: the verdict prices what it adds per request (Monitor.record on the loop + the
    # worker's other threads: flush, status pipe, watchdog) against the request's CPU; the A/B with
    # the monitoring-off twin is shown with its noise
    record_us = res["monitor_record_ns"] / 1000
    prof = res.get("profile") or {}
    po = prof.get("ours-w1") or {}
    side_us = (po.get("cpu_us_per_req") or {}).get("other threads", 0.0)
    for conns in CONCURRENCY:
        cpu = S[f"ours-w1@{conns}"]["cpu_us_per_req"]
        share = (record_us + side_us) / cpu
        v.append([f"monitoring cost, {conns} clients: (Monitor.record + worker's side threads) / request CPU",
                  f"({record_us:.1f} + {side_us:.1f}) / {cpu:.0f} µs = {100 * share:.1f} %",
                  f"<= {100 * TARGET_MONITOR:.0f} %", C.verdict(share <= TARGET_MONITOR)])
    for conns in CONCURRENCY:
        pairs = res["monitor_pairs"][conns]
        cost = 1 - statistics.median(pairs)
        v.append([f"monitoring A/B, {conns} clients: 1 - on/off req/s, median of {len(pairs)} "
                  "back-to-back pairs", f"{100 * cost:+.1f} % (pairs: "
                  + ", ".join(f"{100 * (1 - p):+.0f}" for p in pairs) + ")", "(info: noisy)", ""])
    starts = [s["healthy"] for s in res["starts"]]
    start_med = statistics.median(starts)
    v.append([f"endpoint start, create -> healthy, 1 worker, median of {len(starts)}",
              f"{start_med:.2f} s", f"< {TARGET_START_S:g} s", C.verdict(start_med < TARGET_START_S)])
    mem = res["memory"]
    rss_ratio = mem["rss_after_mb"] / mem["rss_warm_mb"]
    v.append([f"worker RSS after {args.mem_seconds:g} s at half peak / after warm-up",
              f"{mem['rss_after_mb']:.1f} / {mem['rss_warm_mb']:.1f} MB = {rss_ratio:.3f}x",
              f"<= {TARGET_RSS_RATIO}x", C.verdict(rss_ratio <= TARGET_RSS_RATIO)])
    for b in mem["big"]:
        ok = b["status"] == 413 and b["peak_growth_mb"] < TARGET_BIG_MB
        v.append([f"1 GB body ({b['mode']}), default 10 MB limit",
                  f"{b['status']}; worker peak RSS +{b['peak_growth_mb']:.1f} MB",
                  f"413, < {TARGET_BIG_MB:g} MB", C.verdict(ok)])
    ins = res.get("instructions")
    if ins:
        ratio = (statistics.median(r["per_request"] for r in ins["ours-w1"])
                 / statistics.median(r["per_request"] for r in ins["bare-w1"]))
        v.append(["instructions per request (info): ours w1 / bare w1 (callgrind, user space, 1 connection)",
                  f"{ratio:.3f}x (see \"Per request, counted\")", "(info)", ""])
    table2 = C.table(["target", "measured", "target value", "result"], v)

    srows = [[i + 1, fmt(s.get("supervisor"), 2), fmt(s.get("worker"), 2), fmt(s["healthy"], 2),
              fmt(f, 2)] for i, (s, f) in enumerate(zip(res["starts"], res["bare_starts"]))]
    table_start = C.table(["start", "supervisor process seen (s)", "worker process seen (s)",
                           "create() returned healthy (s)", "bare app: spawn -> /health 200 (s)"], srows)

    keys = [k for k in PROFILED if prof.get(k) and "error" not in prof[k]]
    if keys:
        head = [[f"req/s while profiled (64 clients, {gen})"] + [fmt(prof[k]["rps"], 0) for k in keys],
                ["**CPU µs per request, all threads**"] + [fmt(prof[k]["total_us_per_req"], 0) for k in keys]]
        if "by_label" in prof[keys[0]]:
            for group in ("event loop thread", "executor threads (run())", "other threads"):
                head.append([f"  of which {group}"] + [fmt((prof[k]["cpu_us_per_req"] or {}).get(group), 0)
                                                       for k in keys])
            labels = sorted({lab for k in keys for lab in prof[k]["by_label"]},
                            key=lambda lab: -prof[keys[0]]["by_label"].get(lab, 0))
            head += [[lab] + [fmt(prof[k]["by_label"].get(lab), 1) for k in keys] for lab in labels]
        table_prof = C.table(["µs per request (py-spy samples x per-thread CPU)"]
                             + [PROFILE_LABELS[k] for k in keys], head)
        if "by_label" in prof[keys[0]]:
            p1 = prof[keys[0]]
            p2 = prof[keys[1]] if len(keys) > 2 else p1
            ex = p2["samples"].get("executor threads (run())", 0)
            gil = sum(p2["numpy_gil_samples"].values())
            prof_text = (f"{table_prof}\n\n- The three ran back to back after the main rounds, 64 connections for {PROFILE_S + 2} s "
                         f"each; `py-spy record --nonblocking --threads -r 100` sampled {PROFILE_S} s of it. Each thread's CPU "
                         f"(/proc/PID/task/TID/stat over the run) is split by that thread's own samples, leaving out "
                         f"samples whose leaf is a wait (queue get, condition wait, sleep). In `{PROFILE_LABELS[keys[1]]}`, "
                         f"{gil} of the executor threads' {ex} samples sit in numpy `argmax`/`take` (inside "
                         f"`predict`), the calls that release the GIL: threads waiting to take it back. Raw "
                         f"stacks: bench/out/serving.pyspy-*.txt.")
        else:
            prof_text = f"{table_prof}\n\n(no py-spy: --no-profile, or py-spy missing)"
    else:
        prof_text = "Profiles failed: " + "; ".join(str(p.get("error")) for p in prof.values() if p)

    sus = mem["sustained"]
    big_lines = "\n".join(
        f"  - {b['mode']}: answered {b['status']} {b['seconds']:.2f} s after the headers, "
        f"{b['bytes_sent_mb']:.0f} MB sent by then ({b['send_error'] or 'no send error'}); worker RSS "
        f"{b['rss_before_mb']:.1f} -> {b['rss_after_mb']:.1f} MB, peak "
        f"{'VmHWM (reset before)' if b['hwm_reset'] else 'sampled every 2 ms'} "
        f"{(b['hwm_after_mb'] if b['hwm_reset'] else b['sampled_peak_mb']):.1f} MB" for b in mem["big"])
    up = res["up_s"]
    counted, sent = res["monitor_counted"], res["monitor_sent"]
    loadgen = ("`wrk -t1 -cN -dTs --timeout 10s` (C, one thread)" if gen == "wrk" else
               "the asyncio generator in this file (uvloop, raw HTTP/1.1 keep-alive)")
    loads = [r.get("loadavg") for k in cells for c in CONCURRENCY for r in cells[k][c] if r.get("loadavg")]
    load_range = f"{min(loads, key=float)} to {max(loads, key=float)}" if loads else "not recorded"
    body = f"""{table1}

Every round (req/s · p99 · connections per worker process, counted with `ss` {SPLIT_AT_S:g} s into the round;
for a multi-process server, one figure per worker; round r of every server ran in the same interleaved pass):

{table_rounds}

{table2}

- Load: {loadgen}, closed loop on 16 and 64 keep-alive connections; each request a 2-row iris
  JSON body (`{{"data": [[...], [...]]}}`; MLflow `{{"inputs": [[...], [...]]}}`). All servers ran at once
  and answered the same predictions (checked). Each cell: {res['rounds']} rounds of {round_s} s,
  interleaved across servers (the servers of one worker count back to back, in an order that flips and
  rotates every round, `ours w1` next to its monitoring-off twin and to `bare w1`, `bare wN` next to
  its control copy), after a 1 s warm-up each. The first table gives **medians of the rounds**; the targets are judged
  **round by round** (round r of ours against round r of its peer at the same worker count). This 2-core
  machine is shared and other work ran meanwhile: the 1-minute load average after each round ranged
  {load_range}; the load generator itself used the "loadgen CPU %" of a core.
- Server CPU µs/req: CPU time of every process of the server (/proc utime + stime: supervisor and
  workers; uvicorn's manager and workers; MLflow's CLI and uvicorn) over a round, divided by its requests
  (the "worker processes" rows: the processes that serve the port alone, every round);
  "cores busy" = req/s x that. "Other work": the machine's busy CPU (/proc/stat) minus the server's and the
  load generator's, in cores, median (max) over the rounds: anything above ~0.1 is someone else's work
  competing for the 2 cores. On a busy machine a single-threaded server (bare w1) gets less CPU than a
  worker with 5 runnable threads (ours), which flatters ours in req/s; requests per CPU-second do not
  depend on that share, hence the second ours/bare row.
- The control pair: a second, identical bare app at each worker count (`control: a second bare
  app`), interleaved in the same rounds as close to `bare wN` as ours is; the "control (info)" rows
  apply the per-round rule to it against `bare wN`. Two identical servers differ only by the
  machine's noise: where the rule fails for them, a failure of ours by a similar margin in the same
  rounds says little about ours.
- "Monitoring off" is the same endpoint created with `monitoring=False` (payload sampling,
  `sample_rate`, is 0 in both). Checked: the store counted {counted['ours-w1']:,} requests for `ours w1` (the load generator completed
  {sent['ours-w1']:,}; each run stops with up to N requests in flight), {counted['ours-w2']:,} for `ours w2`
  ({sent['ours-w2']:,}), {counted['ours-nomon']:,} for the one with monitoring off. One `Monitor.record` call costs
  {res['monitor_record_ns']:.0f} ns here (median of 5 x 100,000 calls).
- MLflow: `mlflow models serve -m runs:/RUN/model --env-manager local -h 127.0.0.1 -p PORT -w N` (its
  other defaults: access log on), the model from `mlflow.sklearn.log_model` in a `sqlite:///` store; `-w 1`
  is MLflow's default, so `mlflow w1` is also MLflow as it comes. /ping answered {up['mlflow-w1']:.1f} s
  (`-w 1`) and {up['mlflow-w2']:.1f} s (`-w 2`) after spawn. Every comparison is at equal worker counts.
- Workers share connections: our endpoint gives each worker its own listening socket on the port
  (`SO_REUSEPORT`: the kernel hashes each connection to one); the bare app and MLflow run
  `uvicorn --workers N`, whose workers share one socket and race for its accept queue.

### Start-up

{table_start}

`ws.endpoints.create("startN", "iris:1", score.py, workers=1)` on a fresh endpoint each time (deleted after),
with the moments its supervisor and worker processes appeared (/proc scanned every 5 ms). The bare app
column is `python -m uvicorn bare_app:app` from spawn to its first /health 200: Python, sklearn's import
and the unpickling alone, the floor of any server of this model. (For information: the five endpoints of the
throughput runs, started side by side while MLflow started, were all healthy {max(up[k] for k in up if k.startswith('ours')):.1f} s after
the first create.)

### Memory and the large body

- {"The issue's 10 minutes" if args.mem_seconds >= 600 else f"Shortened from 10 min to {args.mem_seconds:g} s"}: a fresh 1-worker endpoint; worker RSS {mem['rss_fresh_mb']:.1f} MB
  when healthy, {mem['rss_warm_mb']:.1f} MB after a 2 s warm-up at 16 connections ({mem['warm_requests']:,} requests),
  then {sus['requests']:,} requests paced at {mem['target_rps']:,.0f} req/s (half the `ours w1` peak at 64
  clients; achieved {sus['rps']:,.0f} req/s, {sus['errors']} errors, p99 {sus['p99_ms']:.1f} ms) by the asyncio
  generator on 16 connections. RSS every 5 s (MB): {', '.join(map(str, mem['trace_mb']))}; 1 s after the run:
  {mem['rss_after_mb']:.1f} MB.
- 1 GB body to the same endpoint (default `max_body_bytes` 10 MB), sent in 1 MB writes while reading the answer:
{big_lines}

### Per request, counted (other work on the machine does not move these)

{counts_text(res)}

### Where the time goes (1 worker, 64 clients)

{prof_text}

Whole command: {res['total_s']:.0f} s.
"""
    C.write_section("serving", "serving: a jupyter_mlws endpoint vs `mlflow models serve` vs a bare ASGI app",
                    body, res, recorded)


if __name__ == "__main__":
    main()
