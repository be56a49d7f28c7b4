"""The endpoint monitor's hand-over when the event loop is busy in an inline run() call."""

from __future__ import annotations

import asyncio
import threading
import time

from jupyter_mlws.endpoints.serving.monitor import Monitor


def test_a_busy_loop_delays_statistics_but_loses_none():
    monitor = Monitor(lambda buckets, samples: None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        monitor.loop = loop
        ran = threading.Event()

        def serve_then_block():
            monitor.record("blue", 200, 3.0)
            monitor.record("blue", 504, 1000.0)
            ran.set()
            time.sleep(1.0)  # an inline run() call holding the loop

        loop.call_soon_threadsafe(serve_then_block)
        assert ran.wait(5)
        assert monitor.take(timeout=0.1) == ([], [])  # the loop is busy: nothing taken yet
        rows, _ = monitor.take(timeout=5)  # the swap scheduled before is collected now
        assert sum(r["count"] for r in rows) == 2
        assert {s for r in rows for s in r["statuses"]} == {"200", "504"}
        assert monitor.take(timeout=5) == ([], [])  # and counted once only
    finally:
        monitor.loop = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
