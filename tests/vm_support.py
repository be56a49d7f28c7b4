"""What the notebook-VM tests share: a workspace whose local VMs work as root and as a normal
user, a real moto EC2 server, and a local driver with faults injected (test-side only).

As root (CI), the local provider's nodes log in the test login user of tests/sshd.py (an
unprivileged account) and run with its Python (``mlws-run-python``: this checkout's package and
the venv's site-packages); the workspace lives in a folder that user may pass through (0711).
As a normal user, nothing is configured: the nodes log in that user with this interpreter.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from libcloud.common.types import LibcloudError

from jupyter_mlws.vms.local_driver import LocalNodeDriver
from jupyter_mlws.vms.providers import Provider

#: fault plans by node name: a set of "after_create", "wait", "destroy"
FAULTS: dict[str, set[str]] = {}


def vm_workspace(folder: Path | None = None, *, jupyterlab: bool = False, python: str | None = None):
    """A new workspace whose local VMs work here (see the module's text); its ``root`` is in a
    folder other users may pass through.  Its VMs run JupyterLab only with ``jupyterlab`` (it
    costs seconds and memory per start: one module tests it, tests/test_vms_lab.py).  As root,
    ``python`` replaces the nodes' shared interpreter (e.g. :func:`sshd.own_executor_python`'s).
    """
    from sshd import executor_python, login_user

    from jupyter_mlws import Workspace

    folder = Path(folder or tempfile.mkdtemp(prefix="mlws-vms-"))
    folder.mkdir(parents=True, exist_ok=True)
    for path in (folder, *folder.parents):  # as root, the nodes' login user passes through
        if path == Path(tempfile.gettempdir()) or not os.geteuid() == 0:
            break
        path.chmod(path.stat().st_mode | 0o711)
    ws = Workspace.create(folder / "ws")
    config = ws.root / "mlws.toml"
    lines = "" if jupyterlab else "vm_jupyterlab = false\n"
    if os.geteuid() == 0:
        user = login_user()
        python = python or executor_python(user)
        lines += f'local_vm_user = "{user.name}"\nlocal_vm_python = "{python}"\n'
    config.write_text(config.read_text() + lines)
    ws.close()
    return Workspace.open(ws.root)


def node_folders(ws, provider: str = "local") -> set[str]:
    """The ids of the nodes a local-style provider has on disk for ``ws``."""
    root = ws.root / ".mlws" / "vms" / provider
    return {p.name for p in root.iterdir() if (p / "node.json").is_file()} if root.is_dir() else set()


# -- faults ------------------------------------------------------------------------------------


class FaultyLocalDriver(LocalNodeDriver):
    """The local driver with failures injected by node name (:data:`FAULTS`): ``after_create``
    (the node is made, then the call fails, as a cloud API timing out after it acted),
    ``wait`` (the first look at nodes after creation fails), ``destroy`` (destroying fails
    while the fault is set)."""

    def create_node(self, name, size, image, **kwargs):
        node = super().create_node(name, size, image, **kwargs)
        if "after_create" in FAULTS.get(name, ()):
            raise LibcloudError("injected: the API timed out after making the node", driver=self)
        return node

    def list_nodes(self):
        nodes = super().list_nodes()
        for node in nodes:
            plan = FAULTS.get(node.name, set())
            if "wait" in plan:
                plan.discard("wait")
                raise LibcloudError("injected: the API answered 503 while the node booted",
                                    driver=self)
        return nodes

    def destroy_node(self, node):
        if "destroy" in FAULTS.get(node.name, ()):
            raise LibcloudError("injected: the API refused to destroy the node", driver=self)
        return super().destroy_node(node)


def register_faulty(ws) -> None:
    """Provider ``faulty`` in ``ws``: :class:`FaultyLocalDriver`, nodes in ``.mlws/vms/faulty``."""
    local = ws.vms.providers.settings["local"]
    ws.vms.providers.register(
        Provider("faulty", "vm_support:FaultyLocalDriver", ssh_user=None, key_install="auth",
                 wait_period=0.05, boot_timeout=10.0, credentials=False, default_image="host"),
        root=ws.root / ".mlws" / "vms" / "faulty", user=local["user"], python=local["python"])


# -- moto: a real EC2 API server -----------------------------------------------------------------


@contextmanager
def moto_ec2():
    """A moto server on 127.0.0.1 (``ThreadedMotoServer``).  Yields its port.  (Moto's XML lacks
    the trailing slash of the namespace libcloud reads: the product's ec2 driver,
    jupyter_mlws.vms.ec2_driver, reads both, so nothing is patched here.)"""
    from moto.server import ThreadedMotoServer

    from sshd import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield port
    finally:
        server.stop()


def register_moto(ws, port: int) -> None:
    """Provider ``moto-ec2``: libcloud's EC2 driver exactly as ``ec2`` builds it, whose nodes are
    records only (moto runs no machine: nothing to reach over SSH)."""
    from jupyter_mlws.vms.providers import PROVIDERS

    ec2 = PROVIDERS["ec2"]
    ws.vms.providers.register(Provider("moto-ec2", ec2.driver, ssh=False, ssh_user=ec2.ssh_user,
                                       key_install=ec2.key_install, ssh_interface="private_ips",
                                       wait_period=0.2, boot_timeout=30.0,
                                       defaults=ec2.defaults))
