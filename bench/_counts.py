"""What a server process spends per request, counted so that other work on the machine cannot
move the figure: instructions (valgrind's callgrind) and system calls (strace).

CPU seconds per request depend on the share of the CPU a process gets: on a busy machine it
serves fewer requests per wake-up and loses its caches more often.  Instructions executed in
user space (every thread of the process) and system calls made, per request served, do not.

- :class:`Callgrind` starts a command under ``valgrind --tool=callgrind`` with instrumentation
  off (start-up runs at near native speed), and :meth:`Callgrind.count` returns the
  instructions the process executed while a load ran;
- :func:`syscalls` attaches ``strace -c -f`` to a running process while a load runs.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable


def available(tool: str) -> bool:
    return shutil.which(tool) is not None


class Callgrind:
    """``argv`` under callgrind, instrumentation off until :meth:`count` (a Popen in ``proc``)."""

    def __init__(self, argv: list[str], out_dir: Path, log: Path, **popen):
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
             f"--callgrind-out-file={out_dir}/callgrind.out.%p", *argv],
            stdout=open(log, "ab"), stderr=subprocess.STDOUT, **popen)

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(self.proc.pid)], capture_output=True,
                       check=True, timeout=120, cwd=self.out_dir)

    def count(self, load: Callable[[], dict]) -> tuple[int, dict]:
        """Instructions the process executed while ``load()`` ran, and what ``load`` returned."""
        self._control("--instr=on")
        self._control("--zero")
        result = load()
        self._control("--dump")
        self._control("--instr=off")
        dumps = sorted(self.out_dir.glob(f"callgrind.out.{self.proc.pid}*"),
                       key=lambda p: p.stat().st_mtime)
        text = dumps[-1].read_text()
        total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
        if total is None:
            raise RuntimeError(f"no totals in {dumps[-1]}")
        return int(total.group(1)), result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def syscalls(pid: int, load: Callable[[], dict], out: Path) -> tuple[dict[str, int], dict]:
    """System calls (name -> count) of every thread of ``pid`` while ``load()`` ran, and its result."""
    proc = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    try:
        result = load()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    counts = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(parts) >= 5 and parts[3].isdigit() and parts[-1] not in ("total", "syscall"):
            counts[parts[-1]] = int(parts[3])
    return counts, result
