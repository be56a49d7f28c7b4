"""The supervisor of one endpoint: binds the socket, runs and watches the worker processes.

``python -m jupyter_mlws.endpoints.serving WORKSPACE ENDPOINT`` (detached by the endpoint service
with :func:`~jupyter_mlws.compute.local.spawn_detached`, so it leads its own process group,
which its workers share).  It

- materialises each deployment (its models and scoring script) under
  ``<workspace>/endpoints/<endpoint>/``;
- binds one listening socket per worker slot, all on the endpoint's port with
  ``SO_REUSEPORT`` (see :meth:`Supervisor.bind`), holds them for its whole life and passes
  them to the worker processes: the worker of slot *i* accepts on socket *i*;
- marks the endpoint healthy when every worker has loaded every deployment, or failed
  with the error (the exception's type and message; the log has the traceback) when one
  could not;
- restarts a worker that dies, stops answering, or reports a run() stuck past the
  grace period, counting restarts in the store;
- polls the endpoint's ``config_version`` and pushes new keys and traffic to the
  workers within half a second, and rolls the workers over (new ones first, then the
  old ones drain) when deployments change;
- writes the workers' request statistics to the store in batches, and what each live
  worker has served to its status file (``EndpointService.workers_path``, which ``show`` reads);
- on SIGTERM stops the workers gracefully and marks the endpoint stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

from ...compute import local

POLL_S = 0.25
CONFIG_POLL_S = 0.5
FLUSH_S = 2.0
HEARTBEAT_TIMEOUT_S = 15.0
START_TIMEOUT_S = 300.0
BACKLOG = 2048


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stderr.write(f"{stamp} supervisor {os.getpid()}: {message}\n")
    sys.stderr.flush()


class Worker:
    """A worker process and the read end of its status pipe."""

    def __init__(self, proc: subprocess.Popen, status_fd: int, generation: int, slot: int):
        self.proc = proc
        self.fd = status_fd
        self.generation = generation
        self.slot = slot
        #: from its heartbeats: HTTP requests answered so far, connections open now
        self.requests = 0
        self.connections = 0
        self.started_at = int(time.time() * 1000)
        self.buffer = b""
        self.ready = False
        self.failed: dict | None = None
        self.started = time.monotonic()
        self.last_beat = time.monotonic()
        self.stopping = False

    @property
    def pid(self) -> int:
        return self.proc.pid


class Supervisor:
    def __init__(self, root: str, name: str):
        from ...workspace import Workspace
        from ..settings import stored

        self.ws = Workspace.open(root)
        self.svc = self.ws.endpoints
        self.records = self.svc.records
        self.name = name
        self.row = self.records.row(name)
        self.pk = self.row["pk"]
        self.settings = stored(self.row["settings"])
        self.dir = self.svc.endpoint_dir(name)
        #: one listening socket per worker slot (index = slot), bound for the supervisor's life
        self.listeners: list[socket.socket] = []
        self.selector = selectors.DefaultSelector()
        self.workers: dict[int, Worker] = {}
        self.generation = 0
        self.current_sig: str | None = None
        self.failed_sig: str | None = None
        self.spec_path: Path | None = None
        self.pending: dict | None = None  # a roll-over under way: {"sig", "spec", "deps"}
        self.config_version = -1
        self.stop_requested = False
        self.metric_rows: list[dict] = []
        self.sample_rows: list[dict] = []
        self.crashes: list[float] = []
        self.workers_text = ""

    # -- store helpers --------------------------------------------------------------------

    def update(self, **values) -> None:
        self.records.update(self.pk, **values)

    def set_deployments_state(self, names, state: str, error: str | None = None) -> None:
        self.records.set_deployments_state(self.pk, names, state, error)

    # -- materialising deployments ------------------------------------------------------------

    def snapshot(self) -> tuple[str, list[dict]]:
        deps = self.records.deployments(self.pk)
        sig = hashlib.sha256(json.dumps(
            [(d["name"], d["entry_script"], d["models"], d["updated_at"]) for d in deps]
        ).encode()).hexdigest()[:16]
        return sig, deps

    def materialise(self, sig: str, deps: list[dict]) -> Path:
        """Write each deployment's score.py and models; return the spec file for workers."""
        gen_dir = self.dir / f"gen-{sig}"
        out = []
        for d in deps:
            ddir = gen_dir / d["name"]
            models_dir = ddir / "models"
            model_dirs = {}
            for m in json.loads(d["models"]):
                version = self.svc.models.resolve(m["ref"])
                mdir = models_dir / version.name / str(version.version)
                if not mdir.is_dir():
                    self.svc.models.download(version, mdir)
                model_dirs[version.ref] = str(mdir)
            script = ddir / Path(d["entry_name"]).name  # the name shown may be a path in the workspace
            if not script.is_file():
                from ...artifacts import copy_blob

                copy_blob(self.svc.blobs, d["entry_script"], script)
            out.append({"name": d["name"], "dir": str(ddir), "script": str(script),
                        "entry_name": d["entry_name"], "model_dirs": model_dirs,
                        "model_dir": next(iter(model_dirs.values()), str(models_dir))})
        spec = {"endpoint": self.name, "deployments": out, "settings": self.settings,
                "workers": int(self.row["workers"])}
        path = gen_dir / "spec.json"
        gen_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(spec, indent=1))
        return path

    # -- workers ----------------------------------------------------------------------------

    def config_line(self) -> bytes:
        row = self.records.row(self.name)
        traffic = {d["name"]: d["traffic"] for d in self.records.deployments(self.pk)}
        self.config_version = row["config_version"]
        return (json.dumps({"keys": [row["primary_key"], row["secondary_key"]],
                            "traffic": traffic}) + "\n").encode()

    def spawn(self, spec: Path, generation: int, config: bytes, slot: int) -> Worker:
        # a plain child in the supervisor's process group (not local.start_session): stopping
        # the endpoint's group stops its workers too, and only the supervisor waits for them.
        # It gets every slot's socket: it accepts on its own, and takes over connections that
        # wait on another slot whose worker is not accepting (worker.Stealer)
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env.pop("MLWS_RUN_ID", None)
        fds = [s.fileno() for s in self.listeners]
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_mlws.endpoints.serving.worker", str(spec),
             ",".join(map(str, fds)), str(slot), str(write_fd)],
            stdin=subprocess.PIPE, stdout=sys.stderr, stderr=sys.stderr,
            pass_fds=(*fds, write_fd), env=env, cwd=str(spec.parent))
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        worker = Worker(proc, read_fd, generation, slot)
        self.workers[proc.pid] = worker
        self.selector.register(read_fd, selectors.EVENT_READ, worker)
        self.send(worker, config)
        log(f"started worker {proc.pid} (generation {generation}, slot {slot})")
        return worker

    def send(self, worker: Worker, line: bytes) -> None:
        try:
            worker.proc.stdin.write(line)
            worker.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def forget(self, worker: Worker) -> None:
        self.workers.pop(worker.pid, None)
        try:
            self.selector.unregister(worker.fd)
        except (KeyError, ValueError):
            pass
        self.read_events(worker)
        os.close(worker.fd)
        try:
            worker.proc.stdin.close()
        except OSError:
            pass

    def kill(self, worker: Worker, sig=signal.SIGKILL) -> None:
        # one worker only, never the group (local.signal_group): the group is the supervisor's own
        try:
            worker.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def read_events(self, worker: Worker) -> None:
        while True:
            try:
                chunk = os.read(worker.fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                break
            if not chunk:
                break
            worker.buffer += chunk
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.handle(worker, event)

    def handle(self, worker: Worker, event: dict) -> None:
        kind = event.get("event")
        worker.last_beat = time.monotonic()
        if kind == "hb":
            worker.requests = event.get("requests", worker.requests)
            worker.connections = event.get("connections", worker.connections)
        elif kind == "ready":
            worker.ready = True
        elif kind == "failed":
            worker.failed = event
        elif kind == "stuck":
            if not worker.stopping:
                log(f"worker {worker.pid}: run() of {', '.join(event.get('deployments', []))} is "
                    "stuck past the timeout and grace period: killing and replacing it")
                worker.stopping = True  # replaced by the reaper as an unplanned exit
                worker.stuck = True
                self.kill(worker)
        elif kind == "metrics":
            for b in event.get("buckets", ()):
                self.metric_rows.append(dict(
                    endpoint_pk=self.pk, deployment=b["deployment"], bucket_start=b["bucket_start"],
                    count=b["count"], errors=b["errors"], statuses=json.dumps(b["statuses"]),
                    latency=json.dumps(b["latency"]), latency_sum_ms=b["latency_sum_ms"]))
            for s in event.get("samples", ()):
                self.sample_rows.append(dict(endpoint_pk=self.pk, **s))

    def pump(self, timeout: float) -> None:
        for key, _mask in self.selector.select(timeout):
            self.read_events(key.data)

    def wait_ready(self, workers: list[Worker], timeout: float) -> dict | None:
        """Wait until every worker is ready; the first failure (as an event dict) otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop_requested:
            self.pump(0.05)
            for w in workers:
                if w.failed:
                    return w.failed
                code = w.proc.poll()
                if code is not None and not w.ready:
                    self.read_events(w)
                    return w.failed or {"error": f"a worker exited with code {code} while starting",
                                        "deployment": None}
            if all(w.ready for w in workers):
                return None
        if self.stop_requested:
            return {"error": "stopped while starting", "deployment": None}
        return {"error": f"the workers were not ready after {timeout:g} s", "deployment": None}

    def stop_workers(self, workers: list[Worker], grace: float) -> None:
        # each worker on its own (not local.stop_child, which signals a group: workers lead none)
        for w in workers:
            w.stopping = True
            self.kill(w, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for w in workers:
            left = max(0.0, deadline - time.monotonic())
            try:
                w.proc.wait(left)
            except subprocess.TimeoutExpired:
                self.kill(w)
                w.proc.wait()
            self.forget(w)

    # -- life cycle --------------------------------------------------------------------------

    def bind(self) -> None:
        """Bind one listening socket per worker slot, all on the endpoint's port.

        Why not one socket shared by every worker (as before): its accept queue is raced for.
        Each idle worker's event loop is woken by a new connection and accepts one per
        wake-up; whichever worker the scheduler runs first takes the burst. With wrk's 16 or
        64 keep-alive connections opened at once, ``ss`` showed every connection on one worker
        in 1 to 3 rounds out of 10, for a bare ``uvicorn --workers 2`` app too: a race of the
        scheduler, not of our code (strace, which slows every accept alike, evened it out).
        With ``SO_REUSEPORT`` the kernel hashes each new connection to one socket of the group,
        so the split no longer depends on who wakes first.

        A port already in use (by anyone, another endpoint of this user included, which
        ``SO_REUSEPORT`` alone would let us join) fails with a clear error: the port is first
        bound without it.  The supervisor keeps the sockets for its life, so a slot's queued
        connections survive its worker: a replacement, or the next generation, accepts them.
        """
        host, port = self.row["host"], self.row["port"] or 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        def new_socket(reuse_port: bool) -> socket.socket:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            return sock

        def refused(exc: OSError):
            return RuntimeError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another "
                                "port with --port, or stop what uses it")

        probe = new_socket(False)
        try:
            probe.bind((host, port))
            port = probe.getsockname()[1]
        except OSError as exc:
            raise refused(exc) from None
        finally:
            probe.close()
        try:
            for _ in range(int(self.row["workers"])):
                sock = new_socket(True)
                self.listeners.append(sock)
                sock.bind((host, port))
                sock.listen(BACKLOG)
                sock.set_inheritable(True)
        except OSError as exc:
            self.close_listeners()
            raise refused(exc) from None
        self.update(port=port)

    def close_listeners(self) -> None:
        for sock in self.listeners:
            sock.close()
        self.listeners = []

    def start(self) -> bool:
        sig, deps = self.snapshot()
        if not deps:
            raise RuntimeError("the endpoint has no deployment: add one with 'mlws endpoint deploy'")
        self.spec_path = self.materialise(sig, deps)
        self.bind()
        self.generation = 1
        config = self.config_line()
        workers = [self.spawn(self.spec_path, 1, config, slot) for slot in range(len(self.listeners))]
        failure = self.wait_ready(workers, START_TIMEOUT_S)
        if failure:
            self.stop_workers(workers, 2.0)
            error = self.failure_text(failure)
            if failure.get("deployment"):
                self.set_deployments_state([failure["deployment"]], "failed", error)
            self.update(state="failed", error=error)
            log(f"start failed: {failure.get('error')}")
            return False
        self.current_sig = sig
        self.set_deployments_state([d["name"] for d in deps], "healthy")
        self.update(state="healthy", error=None)
        log(f"healthy on {self.row['host']}:{self.listeners[0].getsockname()[1]} with "
            f"{len(workers)} worker(s)")
        return True

    def failure_text(self, failure: dict) -> str:
        """What readers of the endpoint see: the exception's type and message, paths
        relative to the workspace (the traceback is in the endpoint's log)."""
        where = f"deployment {failure['deployment']}: " if failure.get("deployment") else ""
        return self.shown(f"{where}{failure.get('error')} ('mlws endpoint logs {self.name}' "
                          "shows the details)")

    def shown(self, text: str) -> str:
        """An error as stored for readers: server paths relative to the workspace, bounded."""
        from ...fsutil import without_roots

        return without_roots(text, self.svc.root)[:4000]

    def check_config(self) -> None:
        row = self.records.row(self.name)
        if row["config_version"] == self.config_version:
            return
        line = self.config_line()
        for w in list(self.workers.values()):
            self.send(w, line)
        sig, deps = self.snapshot()
        if sig not in (self.current_sig, self.failed_sig) and (
                self.pending is None or self.pending["sig"] != sig):
            self.roll(sig, deps, line)

    def roll(self, sig: str, deps: list[dict], config: bytes) -> None:
        """Start a new generation of workers for changed deployments; the old ones drain later."""
        if self.pending:  # a newer change supersedes a roll-over under way
            self.stop_workers(self.pending["workers"], 2.0)
            self.pending = None
        changed = [d["name"] for d in deps if d["state"] != "healthy"]
        log(f"deployments changed ({', '.join(changed) or 'removed'}): rolling the workers over")
        try:
            spec = self.materialise(sig, deps)
        except Exception as exc:
            log(f"could not prepare the new deployments: {traceback.format_exc()}")
            self.set_deployments_state(changed, "failed", f"could not prepare it: {exc}")
            self.failed_sig = sig
            return
        self.generation += 1
        # the new worker of each slot accepts on the slot's socket next to the old one, which
        # stops accepting once the new generation is ready: the socket stays open (held here),
        # so connections queued on it are accepted by the new worker, never reset
        workers = [self.spawn(spec, self.generation, config, slot) for slot in range(len(self.listeners))]
        self.pending = {"sig": sig, "spec": spec, "workers": workers, "changed": changed,
                        "deadline": time.monotonic() + START_TIMEOUT_S}

    def check_pending(self) -> None:
        p = self.pending
        if not p:
            return
        failure = None
        for w in p["workers"]:
            if w.failed:
                failure = w.failed
            elif w.proc.poll() is not None and not w.ready:
                failure = {"error": f"a worker exited with code {w.proc.returncode} while starting",
                           "deployment": None}
        if failure is None and time.monotonic() > p["deadline"]:
            failure = {"error": "the new workers were not ready in time", "deployment": None}
        if failure:
            self.stop_workers(p["workers"], 2.0)
            names = [failure["deployment"]] if failure.get("deployment") else p["changed"]
            self.set_deployments_state(names, "failed", self.failure_text(failure))
            self.failed_sig = p["sig"]
            self.pending = None
            log(f"roll-over failed, the previous workers keep serving: {failure.get('error')}")
            return
        if all(w.ready for w in p["workers"]):
            old = [w for w in self.workers.values() if w.generation != self.generation]
            self.current_sig, self.spec_path = p["sig"], p["spec"]
            self.pending = None
            log(f"generation {self.generation} serving; draining {len(old)} old worker(s)")
            # the old workers stop accepting at once and finish their calls; the change counts
            # as done (healthy) once no old worker can answer anymore
            self.stop_workers(old, float(self.settings["request_timeout"]) + 2)
            self.set_deployments_state(p["changed"], "healthy")
            self.update(error=None)
            self.clean_generations()

    def clean_generations(self) -> None:
        for child in self.dir.glob("gen-*"):
            if child.name != f"gen-{self.current_sig}":
                shutil.rmtree(child, ignore_errors=True)

    def reap(self) -> None:
        """Replace workers of the current generation that died (or were killed as stuck)."""
        now = time.monotonic()
        for w in list(self.workers.values()):
            if w.generation != self.generation or (self.pending and w in self.pending["workers"]):
                continue
            code = w.proc.poll()
            if code is None:
                if w.ready and now - w.last_beat > HEARTBEAT_TIMEOUT_S:
                    log(f"worker {w.pid} sent no heartbeat for {HEARTBEAT_TIMEOUT_S:g} s: killing it")
                    w.stopping = True
                    self.kill(w)
                continue
            self.forget(w)
            if self.stop_requested:
                continue
            log(f"worker {w.pid} exited with code {code}: starting a replacement")
            self.crashes = [t for t in self.crashes if now - t < 60] + [now]
            self.records.count_restart(self.pk)
            if len(self.crashes) > 5:
                time.sleep(min(5.0, 0.5 * (len(self.crashes) - 5)))  # crash loop: back off
            self.spawn(self.spec_path, self.generation, self.config_line(), w.slot)

    def flush(self) -> None:
        rows, samples = self.metric_rows, self.sample_rows
        self.metric_rows, self.sample_rows = [], []
        if rows or samples:
            try:
                self.records.write_stats(rows, samples)
            except Exception:
                log(f"could not write request statistics: {traceback.format_exc()}")
        self.write_workers()

    def write_workers(self) -> None:
        """What each live worker served (from its last heartbeat), for ``show``: replaced
        whole (a status file, not a record: no fsync), only when it changed."""
        current = sorted((w for w in self.workers.values() if w.proc.poll() is None),
                         key=lambda w: (w.slot, w.generation))
        rows = [{"slot": w.slot, "pid": w.pid, "generation": w.generation,
                 "state": "draining" if w.stopping else "serving" if w.ready else "starting",
                 "requests": w.requests, "connections": w.connections, "started_at": w.started_at}
                for w in current]
        text = json.dumps(rows)
        if text == self.workers_text:
            return
        path = self.svc.workers_path(self.name)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(text)
            os.replace(tmp, path)
            self.workers_text = text
        except OSError as exc:
            log(f"could not write {path.name}: {exc}")

    def serve(self) -> None:
        next_config = next_flush = time.monotonic()
        while not self.stop_requested:
            self.pump(POLL_S)
            now = time.monotonic()
            if now >= next_config:
                next_config = now + CONFIG_POLL_S
                try:
                    self.check_config()
                except Exception:
                    log(f"could not read the configuration: {traceback.format_exc()}")
            self.check_pending()
            self.reap()
            if now >= next_flush:
                next_flush = now + FLUSH_S
                self.flush()

    def shutdown(self) -> None:
        workers = list(self.workers.values())
        self.stop_workers(workers, float(self.settings["request_timeout"]) + 2)
        self.flush()
        self.close_listeners()
        try:
            self.svc.workers_path(self.name).unlink()
        except OSError:
            pass

    def main(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        me = local.Process.current()  # no start time: the endpoint table records pid and host
        self.update(pid=me.pid, machine=me.host, state="creating", error=None)
        code = 0
        try:
            if self.start():
                self.serve()
            else:
                code = 1
        except Exception as exc:
            log(f"failed: {traceback.format_exc()}")
            self.update(state="failed", error=self.shown(f"{type(exc).__name__}: {exc}"))
            code = 1
        finally:
            try:
                self.shutdown()
            finally:
                row = self.records.row(self.name)
                if row["state"] != "failed":
                    self.update(state="stopped")
                self.update(pid=None)
                self.ws.close()
        return code

    def _on_signal(self, *_args) -> None:
        self.stop_requested = True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m jupyter_mlws.endpoints.serving WORKSPACE ENDPOINT", file=sys.stderr)
        return 2
    return Supervisor(argv[0], argv[1]).main()
