"""The client-side metric buffer: logging costs a list append, writing happens in batches.

A :class:`MetricWriter` owns one background thread per active run.  It drains
the buffer when it holds ``flush_size`` points or every ``flush_interval``
seconds, writes each batch in one transaction, and beats the run's heartbeat.
The buffer is capped: past ``max_buffer`` points the logging thread writes the
batch itself (back-pressure), so memory never grows without limit.  A batch
that fails to write goes back to the front of the buffer and is retried; the
error surfaces on the next :meth:`MetricWriter.flush` (a full disk: saying that the
points are kept) unless a retry has written them by then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable, Sequence

from .errors import MlwsError

log = logging.getLogger(__name__)


class MetricWriter:
    """Buffers ``(key, value, step, ts)`` points and writes them in batches.

    Parameters
    ----------
    write : callable
        Persists a list of at most ``batch_max`` points in one transaction (all or nothing): the
        store's own, or a POST to a workspace server (:mod:`jupyter_mlws.remote`).
    heartbeat : callable
        Records that the run's process is alive.
    """

    def __init__(
        self,
        write: Callable[[Sequence[tuple]], None],
        heartbeat: Callable[[], None],
        *,
        write_records: Callable[[Sequence[tuple]], None] | None = None,
        flush_size: int = 20_000,
        flush_interval: float = 1.0,
        max_buffer: int = 100_000,
        heartbeat_interval: float = 5.0,
        batch_max: int | None = None,
    ):
        self.buffer: deque = deque()
        #: other small records written in the same batches (e.g. executed cells)
        self.records: deque = deque()
        self._write_records = write_records
        self.flush_size = flush_size
        self.max_buffer = max_buffer
        #: the most points one ``write`` takes: its all-or-nothing unit (a retried batch is
        #: never half written already)
        self.batch_max = batch_max or 5 * flush_size
        self._write = write
        self._heartbeat = heartbeat
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="mlws-metric-writer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask the background thread to write now (the buffer is full enough)."""
        if len(self.buffer) >= self.max_buffer:
            self.flush()  # back-pressure: the logging thread pays for the write
        else:
            self._wake.set()

    def flush(self) -> None:
        """Write everything buffered so far; raise the last write error, if any."""
        with self._lock:
            self._drain()
            error, self._error = self._error, None
            waiting = len(self.buffer) + len(self.records)
        if isinstance(error, MlwsError) and waiting and not self._stop:
            raise type(error)(f"{error}; the {waiting} points not yet written are kept and "
                              "written once this is fixed") from None
        if error is not None:
            raise error

    def close(self) -> None:
        """Stop the thread after a final write; raise if points could not be written."""
        self._stop = True
        self._wake.set()
        self._thread.join()
        self.flush()

    def _drain(self) -> None:
        if self.records and self._write_records is not None:
            records = [self.records.popleft() for _ in range(len(self.records))]
            try:
                self._write_records(records)
            except BaseException as exc:
                self.records.extendleft(reversed(records))
                self._error = exc
                return
        buffer = self.buffer
        while buffer:
            batch = [buffer.popleft() for _ in range(min(len(buffer), self.batch_max))]
            try:
                self._write(batch)
            except BaseException as exc:  # keep the points: put them back in order
                buffer.extendleft(reversed(batch))
                self._error = exc
                return
        self._error = None  # all written, the retried points too: nothing to report

    def _loop(self) -> None:
        next_beat = time.monotonic() + self._heartbeat_interval
        while not self._stop:
            self._wake.wait(min(self._flush_interval, max(0.0, next_beat - time.monotonic())))
            self._wake.clear()
            with self._lock:
                self._drain()
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self._heartbeat_interval
                try:
                    self._heartbeat()
                except Exception as exc:  # a missed beat is retried next interval
                    log.warning("mlws: heartbeat failed: %s", exc)
