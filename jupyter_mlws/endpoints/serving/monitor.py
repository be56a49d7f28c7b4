"""Request statistics, aggregated in memory on the request path and flushed in batches.

A worker records each request with :meth:`Monitor.record` (a few dict
operations); a background thread hands the buckets to a sink every
``flush_interval`` seconds.  Latencies go into a fixed log-spaced histogram,
so buckets from several workers and flushes add up, and p50/p95/p99 are read
from the sum (within one bin's width, 20 %).
"""

from __future__ import annotations

import bisect
import concurrent.futures
import random
import threading
import time
from typing import Callable, Iterable

#: bucket width of the stored time series
BUCKET_MS = 10_000
#: upper bounds (ms) of the latency bins: 0.05 ms * 1.2**i, up to ~10 minutes
BOUNDS = [0.05 * 1.2 ** i for i in range(90)]
_time = time.time


def bin_of(ms: float) -> int:
    """The histogram bin of a latency in milliseconds."""
    return bisect.bisect_left(BOUNDS, ms)


def percentile(hist: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram {bin: count}, interpolated inside its bin."""
    total = sum(hist.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for idx in sorted(hist):
        n = hist[idx]
        if seen + n >= rank:
            lo = BOUNDS[idx - 1] if 0 < idx <= len(BOUNDS) else 0.0
            hi = BOUNDS[idx] if idx < len(BOUNDS) else lo * 1.2
            frac = (rank - seen) / n if n else 1.0
            return lo + (hi - lo) * frac
        seen += n
    return BOUNDS[-1]


class Monitor:
    """Per-deployment, per-bucket counters of one worker process.

    Parameters
    ----------
    sink : callable
        Given a list of bucket dicts (and samples), stores them; runs on the flush thread.
    sample_rate : float
        Fraction of requests whose payloads are kept (0 = none).
    sample_max_bytes : int
        Payloads longer than this are cut.
    """

    def __init__(self, sink: Callable[[list[dict], list[dict]], None], *,
                 flush_interval: float = 2.0, sample_rate: float = 0.0,
                 sample_max_bytes: int = 65536):
        self.sink = sink
        self.flush_interval = flush_interval
        self.sample_rate = sample_rate
        self.sample_max_bytes = sample_max_bytes
        self._buckets: dict[tuple[str, int], list] = {}
        #: deployment -> (end in s, counters) of its bucket in use: record() looks up no key
        #: while the bucket lasts (forgotten when the buckets are taken)
        self._current: dict[str, tuple[float, list]] = {}
        self._samples: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: the event loop that calls record(), once serving
        self.loop = None
        #: a swap scheduled on the loop that a busy loop has not run yet (collected next time)
        self._pending: concurrent.futures.Future | None = None

    def record(self, deployment: str, status: int, latency_ms: float) -> None:
        """Count one request (called on the event loop: no I/O, no allocation beyond a bucket)."""
        now = _time()
        current = self._current.get(deployment)  # (bucket end, counters) of the bucket now
        if current is None or now >= current[0]:
            current = self._open(deployment, now)
        b = current[1]
        b[0] += 1
        if status >= 500:
            b[1] += 1
        statuses = b[2]
        statuses[status] = statuses.get(status, 0) + 1
        hist = b[3]
        idx = bisect.bisect_left(BOUNDS, latency_ms)
        hist[idx] = hist.get(idx, 0) + 1
        b[4] += latency_ms

    def _open(self, deployment: str, now: float) -> tuple[float, list]:
        """The counters of ``deployment``'s bucket at ``now`` (s), remembered until it ends."""
        start = int(now * 1000) // BUCKET_MS * BUCKET_MS
        key = (deployment, start)
        b = self._buckets.get(key)
        if b is None:
            with self._lock:
                b = self._buckets.setdefault(key, [0, 0, {}, {}, 0.0])
        current = self._current[deployment] = ((start + BUCKET_MS) / 1000, b)
        return current

    def want_sample(self) -> bool:
        """Whether to keep this request's payloads."""
        return self.sample_rate > 0 and random.random() < self.sample_rate

    def sample(self, deployment: str, status: int, request: bytes, response: bytes) -> None:
        """Keep a request/response pair (cut to ``sample_max_bytes``)."""
        cap = self.sample_max_bytes
        with self._lock:
            if len(self._samples) < 1000:
                self._samples.append({
                    "deployment": deployment, "ts": int(time.time() * 1000), "status": status,
                    "request": request[:cap].decode("utf-8", "replace"),
                    "response": response[:cap].decode("utf-8", "replace")})

    def take(self, timeout: float | None = 10.0) -> tuple[list[dict], list[dict]]:
        """Swap out what was recorded so far, as JSON-friendly dicts.

        The swap runs on the event loop's thread; if the loop is busy for longer than
        ``timeout`` (an inline ``run()`` call), nothing is taken now and the swap, once
        the loop has run it, is collected by the next call: nothing is lost.
        """
        loop = self.loop
        if loop is not None and loop.is_running():
            # swap on the event loop's own thread: record() never holds a bucket being taken
            done = self._pending
            if done is None:
                done = concurrent.futures.Future()
                loop.call_soon_threadsafe(lambda: done.set_result(self._swap()))
            try:
                buckets, samples = done.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                self._pending = done
                return [], []
            self._pending = None
        else:
            buckets, samples = self._swap()
            pending, self._pending = self._pending, None
            if pending is not None and pending.done():  # the loop ran the swap, then stopped
                earlier, earlier_samples = pending.result()
                return self._rows(earlier) + self._rows(buckets), earlier_samples + samples
        return self._rows(buckets), samples

    @staticmethod
    def _rows(buckets: dict) -> list[dict]:
        return [{"deployment": dep, "bucket_start": start, "count": b[0], "errors": b[1],
                 "statuses": {str(k): v for k, v in b[2].items()},
                 "latency": {str(k): v for k, v in b[3].items()}, "latency_sum_ms": b[4]}
                for (dep, start), b in buckets.items()]

    def _swap(self):
        with self._lock:
            buckets, self._buckets = self._buckets, {}
            self._current = {}
            samples, self._samples = self._samples, []
        return buckets, samples

    def flush(self, timeout: float | None = 10.0) -> None:
        """Hand everything recorded to the sink now (see :meth:`take` for ``timeout``)."""
        buckets, samples = self.take(timeout)
        if buckets or samples:
            self.sink(buckets, samples)

    def start(self) -> "Monitor":
        """Flush every ``flush_interval`` seconds on a daemon thread."""
        def loop() -> None:
            while not self._stop.wait(self.flush_interval):
                try:
                    self.flush()
                except Exception:  # never let monitoring take the worker down
                    pass

        self._thread = threading.Thread(target=loop, name="mlws-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after a last flush."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            pass


def merge(rows: Iterable[dict]) -> dict:
    """Add up bucket rows: totals, status codes, and latency percentiles (ms)."""
    count = errors = 0
    latency_sum = 0.0
    statuses: dict[str, int] = {}
    hist: dict[int, int] = {}
    for r in rows:
        count += r["count"]
        errors += r["errors"]
        latency_sum += r.get("latency_sum_ms") or 0.0
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
        for k, v in r["latency"].items():
            hist[int(k)] = hist.get(int(k), 0) + v
    def rnd(x):
        return None if x is None else round(x, 3)
    return {"count": count, "errors": errors, "statuses": dict(sorted(statuses.items())),
            "latency_ms": {"mean": rnd(latency_sum / count) if count else None,
                           "p50": rnd(percentile(hist, 0.50)), "p95": rnd(percentile(hist, 0.95)),
                           "p99": rnd(percentile(hist, 0.99))}}

