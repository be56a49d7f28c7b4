"""A VM's log shows no path of this server: a local node's home is written as ``~``, any other
path of the workspace as ``<workspace>``, as given or resolved through a link, also when the
output comes in chunks that cut a path in two (an unfinished line waits for its end, or the next
line of the workspace's own)."""

from __future__ import annotations

import os

from jupyter_mlws.vms.bootstrap import VMLog
from jupyter_mlws.vms.log_paths import HOLD_MAX, ServerPaths


def _paths(tmp_path):
    real = tmp_path / "real"
    (real / "ws" / ".mlws" / "vms" / "local").mkdir(parents=True)
    os.symlink(real, tmp_path / "link")  # the workspace reached through a link, as /tmp may be
    root = tmp_path / "link" / "ws"
    return root, ServerPaths(root, root / ".mlws" / "vms" / "local")


def test_a_nodes_home_is_tilde_and_other_workspace_paths_are_hidden(tmp_path):
    root, paths = _paths(tmp_path)
    home = f"{root}/.mlws/vms/local/n-0123456789ab/home"
    resolved = os.path.realpath(root) + "/.mlws/vms/local/n-0123456789ab/home"
    text = (f"setting up in {home}\n{home}/work/data.csv\ncwd {resolved}/env\n"
            f"Serving notebooks from local directory: {home}\n"
            f"sshd: {root}/.mlws/vms/local/n-0123456789ab/sshd/sshd_config\n"
            f"{home}s is not the home\n/usr/bin/python3 stays\n")
    assert paths(text.encode()).decode() == (
        "setting up in ~\n~/work/data.csv\ncwd ~/env\nServing notebooks from local directory: ~\n"
        "sshd: <workspace>/.mlws/vms/local/n-0123456789ab/sshd/sshd_config\n"
        "<workspace>/.mlws/vms/local/n-0123456789ab/homes is not the home\n/usr/bin/python3 stays\n")


def test_a_path_cut_across_chunks_is_rewritten_whole(tmp_path):
    root, paths = _paths(tmp_path)
    log = VMLog(tmp_path / "vm.log", paths)
    line = f"setting up in {root}/.mlws/vms/local/n-0123456789ab/home/project\n".encode()
    for at in range(0, len(line), 7):  # 7-byte chunks, as a slow script's output may come
        log.write(line[at:at + 7])
    log.write(b"progress 10%\rprogress 20%")  # no path: written at once, unfinished or not
    assert log.read() == b"setting up in ~/project\nprogress 10%\rprogress 20%"
    log.write(f"made {root}/.ml".encode())  # an unfinished line that may hold a path waits...
    assert log.read().endswith(b"progress 20%")
    log.say("setup script: exited with status 0")  # ...until the workspace's next line
    text = log.read().decode()
    assert "progress 20%made <workspace>/.ml[mlws " in text and str(tmp_path) not in text
    log.write(b"x" * HOLD_MAX + f" {root}".encode())  # held no longer than HOLD_MAX
    assert log.read().endswith(b" <workspace>")


def test_a_log_without_paths_to_hide_writes_as_it_comes(tmp_path):
    log = VMLog(tmp_path / "vm.log")
    log.write(b"a /tmp/partial")
    assert log.read() == b"a /tmp/partial"


def test_a_local_nodes_python_is_hidden_a_cloud_vms_paths_are_its_own(tmp_path):
    root = tmp_path / "ws"
    venv = tmp_path / "venv"
    paths = ServerPaths(root, root / ".mlws" / "vms" / "local", python=venv)
    line = f"JupyterLab extension loaded from {venv}/lib/python3.11/site-packages/jupyterlab\n"
    assert paths.of("local")(line.encode()).decode() == \
        "JupyterLab extension loaded from <python>/lib/python3.11/site-packages/jupyterlab\n"
    assert paths.of("ec2")(line.encode()).decode() == line  # a path of the VM itself
    assert paths.of("ec2")(f"in {root}/x\n".encode()) == b"in <workspace>/x\n"
    system = ServerPaths(root, root / ".mlws" / "vms" / "local", python="/usr")
    assert system.of("local")(b"/usr/bin/python3\n") == b"/usr/bin/python3\n"
