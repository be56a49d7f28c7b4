"""idle check: the CPU one idle check costs against a local Jupyter server, as a share of a core
at the check interval.

A real Jupyter server (``python -m jupyter_server``, no lab, on 127.0.0.1) with what a used VM
has: one kernel (connected once, so idle, not "starting") and one terminal.  An idle check is
what :class:`jupyter_mlws.vms.idle.IdleMonitor` does every ``CHECK_INTERVAL_S`` (60 s): the
probe's three GETs (``/api/status``, ``/api/kernels``, ``/api/terminals``) over a kept-alive
connection, then the policy's decision.  ``--checks`` checks back to back; the CPU of both sides is
counted: this process (``time.process_time``) and the server's (its process's user + system
time, minus what it spends idle over the same wall time, measured before).  The reference, in
the same run: three bare ``GET /api/status`` with ``urllib3`` (the raw cost of three requests).

Target (issue 12): under 1 % of a core at the chosen interval.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(0, str(C.ROOT / "tests"))
TARGET_SHARE = 0.01


def server_cpu(proc) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def measure(server_proc, fn, count: int, idle_rate: float) -> tuple[float, float, float]:
    """(client CPU s, server CPU s, wall s) per call of ``fn``, ``count`` calls back to back."""
    c0, s0, w0 = time.process_time(), server_cpu(server_proc), time.perf_counter()
    for _ in range(count):
        fn()
    c1, s1, w1 = time.process_time(), server_cpu(server_proc), time.perf_counter()
    wall = w1 - w0
    server = max(0.0, (s1 - s0) - idle_rate * wall)
    return (c1 - c0) / count, server / count, wall / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import psutil
    import urllib3
    import websocket

    from jupyter_mlws.vms.activity import ActivityProbe
    from jupyter_mlws.vms.idle import CHECK_INTERVAL_S, IdleMonitor, IdlePolicy
    from mlws_testing import start_jupyter, stop_jupyter

    tmp = C.tmpdir("idle-check")
    server = start_jupyter(tmp, lambda port, token: [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}",
        '--ServerApp.jpserver_extensions={"jupyter_mlws": False, "jupyterlab": False}'], cwd=tmp)
    auth = {"Authorization": f"token {server.token}"}
    pool = urllib3.PoolManager(maxsize=1, retries=False)
    try:
        kernel = json.loads(pool.request("POST", server.url + "api/kernels", body=b"{}", headers=auth).data)
        pool.request("POST", server.url + "api/terminals", body=b"{}", headers=auth)
        channel = websocket.create_connection(
            server.url.replace("http", "ws") + f"api/kernels/{kernel['id']}/channels",
            header=[f"{k}: {v}" for k, v in auth.items()], timeout=30)
        time.sleep(2.0)  # the kernel answers the connection's kernel_info: idle from then on
        channel.close()
        proc = psutil.Process(server.proc.pid)
        probe = ActivityProbe(server.url, server.token)
        monitor = IdleMonitor(probe, IdlePolicy(timedelta(minutes=30)))
        assert monitor.check().action == "none" and probe.observe().kernels[0].execution_state == "idle"

        def bare() -> None:
            for _ in range(3):
                pool.request("GET", server.url + "api/status", headers=auth).data

        s0 = server_cpu(proc)
        time.sleep(5.0)
        idle_rate = (server_cpu(proc) - s0) / 5.0
        checks, refs = [], []
        for _ in range(args.rounds):  # alternate, medians: the machine is shared
            checks.append(measure(proc, monitor.check, args.checks, idle_rate))
            refs.append(measure(proc, bare, args.checks, idle_rate))
        probe.close()
    finally:
        stop_jupyter(server)

    def med(rows, i):
        return C.median([r[i] for r in rows])

    check_cpu = med(checks, 0) + med(checks, 1)
    ref_cpu = med(refs, 0) + med(refs, 1)
    share = check_cpu / CHECK_INTERVAL_S
    def ms(seconds):
        return f"{seconds * 1e3:.2f} ms"

    rows = [["idle check (IdleMonitor.check)", ms(med(checks, 0)), ms(med(checks, 1)), ms(check_cpu),
             ms(med(checks, 2))],
            ["reference: 3 bare GET /api/status", ms(med(refs, 0)), ms(med(refs, 1)), ms(ref_cpu),
             ms(med(refs, 2))]]
    body = (f"{args.rounds} rounds of {args.checks} checks back to back against a local Jupyter server "
            f"(one idle kernel, one terminal), alternating with the reference; medians per call. "
            f"Server CPU is its process's CPU minus its idle rate ({idle_rate * 100:.2f} % of a core).\n\n"
            f"{C.table(['', 'client CPU', 'server CPU', 'total CPU', 'wall'], rows)}\n\n"
            f"One check costs {check_cpu / ref_cpu:.2f}x three bare requests.  At the check interval "
            f"({CHECK_INTERVAL_S:.0f} s): **{share * 100:.4f} % of a core** "
            f"(at 10 s: {check_cpu / 10 * 100:.4f} %).\n\n"
            f"Target: under {TARGET_SHARE * 100:.0f} % of a core: {C.verdict(share < TARGET_SHARE)}\n")
    C.write_section("idle_check", "idle_check: the CPU of one idle check of a notebook VM", body,
                    {"checks": checks, "references": refs, "idle_rate": idle_rate,
                     "interval_s": CHECK_INTERVAL_S, "share": share, "target": TARGET_SHARE})


if __name__ == "__main__":
    main()
