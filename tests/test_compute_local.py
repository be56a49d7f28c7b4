"""Process control on this machine (compute/local.py), as the endpoint service uses it."""

from __future__ import annotations

import subprocess
import sys
import time

from jupyter_mlws.compute import local

#: a group leader whose child (in its group) keeps running when only the leader gets SIGTERM
LEADER = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("ready", flush=True)
time.sleep(60)
"""


def test_alive_takes_one_command_line_marker_or_several():
    child = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)",
                              "marker-new"], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"ready"  # exec'd: its command line is its own
        assert local.alive(child.pid, cmdline=b"marker-new")
        assert local.alive(child.pid, cmdline=(b"marker-old", b"marker-new"))
        assert not local.alive(child.pid, cmdline=(b"marker-old",))
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert not local.alive(child.pid)


def test_stop_group_leader_first_signals_the_leader_then_kills_the_group():
    leader = local.start_session([sys.executable, "-c", LEADER], stdout=subprocess.PIPE)
    try:
        assert leader.stdout.readline().strip() == b"ready"
        started = time.monotonic()
        local.stop_group(leader.pid, 1.0, leader_first=True, settle=5.0)
        # the leader ended at once, its child only at the SIGKILL after the grace
        assert time.monotonic() - started >= 1.0
        assert not local.group_alive(leader.pid)
    finally:
        local.signal_group(leader.pid, 9)
        leader.wait()
        leader.stdout.close()
