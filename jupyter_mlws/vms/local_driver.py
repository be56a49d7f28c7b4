"""The ``local`` provider as an apache-libcloud ``NodeDriver``: nodes that are sandboxed hosts of
this machine, each reachable only over SSH (see :mod:`.local_node` for what a node is and how it
is isolated).

The workspace registers it with ``libcloud.compute.providers.set_driver`` when a VM first needs
it (:mod:`.providers`), so it is reached exactly as a cloud's driver is: ``create_node`` (with
``auth=NodeAuthSSHKey(public key)`` and ``ex_metadata`` tags), ``list_nodes``, ``reboot_node``,
``stop_node``, ``start_node`` (a new free port, the same host key), ``destroy_node``.

One size (``host``: the machine, not split), one image (``host``: this machine's system, whose
Python the node's runs use) and one location (``local``).  A node's ``extra`` holds ``tags``,
``ssh_port``, ``ssh_user``, ``host_key`` (``"ssh-ed25519 AAAA..."``, which the workspace pins:
this driver made it, so it is known before anyone connects) and ``python``.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from libcloud.compute.base import Node, NodeAuthSSHKey, NodeDriver, NodeImage, NodeLocation, NodeSize
from libcloud.compute.types import NodeState

from .local_node import RUNNING, LocalNode, check_python, login_user, open_path_to

#: the provider's constant, as ``libcloud.compute.providers.get_driver`` takes it
PROVIDER = "mlws_local"
SIZE, IMAGE, REGION = "host", "host", "local"


class LocalNodeDriver(NodeDriver):
    """Nodes of this machine.

    Parameters
    ----------
    key, secret : ignored
        What libcloud passes every driver (the local provider needs no credentials).
    root : path
        The folder its nodes live in (the workspace's ``.mlws/vms/local``).
    user : str, optional
        The login user of its nodes (default: this OS user; required when running as root: an
        unprivileged account).
    python : str, optional
        The interpreter runs on its nodes use (default: this one).
    region : str
        ``local`` only (anything else is a ValueError, as libcloud's drivers raise).
    """

    type = PROVIDER
    name = "jupyter_mlws local provider"
    website = "https://github.com/jupyter_mlws"
    features = {"create_node": ["ssh_key"]}

    def __init__(self, key=None, secret=None, *, root, user: str | None = None,
                 python: str | None = None, region: str = REGION, **_ignored):
        # no connection: nothing here is reached over HTTP
        if region != REGION:
            raise ValueError(f"Invalid region: {region}")
        self.key, self.secret, self.region = key, secret, region
        self.root = Path(root)
        self._user = user
        self.python = python or sys.executable

    # -- what can be made ------------------------------------------------------------------

    def list_sizes(self, location=None) -> list[NodeSize]:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
        return [NodeSize(SIZE, "this machine (not split)", ram, None, None, 0.0, self,
                         extra={"cpus": os.cpu_count()})]

    def list_images(self, location=None, ex_only_active=True) -> list[NodeImage]:
        return [NodeImage(IMAGE, "this machine's system", self, extra={"python": self.python})]

    def get_image(self, image_id: str) -> NodeImage:
        """The one image, once its Python is checked: the login user can run it with
        jupyter_mlws and jupyterlab (:func:`.local_node.check_python`; Unavailable saying what to
        set), so a VM is refused before anything is recorded.  ValueError for another id."""
        if image_id != IMAGE:
            raise ValueError(f"the local provider has image {IMAGE!r} only")
        check_python(self.python, login_user(self._user))
        return self.list_images()[0]

    def list_locations(self) -> list[NodeLocation]:
        return [NodeLocation(REGION, "this machine", "", self)]

    # -- nodes --------------------------------------------------------------------------------

    def _node(self, local: LocalNode) -> Node:
        info = local.info
        running = info["state"] == RUNNING and local.running()
        return Node(info["id"], info["name"], NodeState.RUNNING if running else NodeState.STOPPED,
                    ["127.0.0.1"], ["127.0.0.1"], self,
                    size=NodeSize(info["size"], info["size"], 0, None, None, 0.0, self),
                    image=NodeImage(info["image"], info["image"], self),
                    extra={"tags": dict(info["tags"]), "ssh_port": info["port"],
                           "ssh_user": info["user"], "host_key": info["host_key"],
                           "python": info["python"]})

    def _local(self, node: Node) -> LocalNode:
        local = LocalNode(self.root / node.id)
        if not local.exists():
            from libcloud.common.types import LibcloudError

            raise LibcloudError(f"no local node {node.id}", driver=self)
        return local

    def list_nodes(self) -> list[Node]:
        if not self.root.is_dir():
            return []
        nodes = (LocalNode(p) for p in sorted(self.root.iterdir()) if p.is_dir())
        out = []
        for local in nodes:
            try:
                out.append(self._node(local))
            except (OSError, ValueError, KeyError):  # a folder half made or half removed
                continue
        return out

    def create_node(self, name, size, image, location=None, auth=None, ex_metadata=None,
                    **_ignored) -> Node:
        """A new node named ``name``, tagged ``ex_metadata``, logging in the provider's user with
        ``auth`` (a ``NodeAuthSSHKey``: the only key it accepts), started."""
        if size.id != SIZE or image.id != IMAGE:
            raise ValueError(f"the local provider has size {SIZE!r} and image {IMAGE!r} only")
        if not isinstance(auth, NodeAuthSSHKey):
            raise ValueError("the local provider needs auth=NodeAuthSSHKey(public key)")
        user = login_user(self._user)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        open_path_to(self.root, user)
        local = LocalNode.make(self.root / f"n-{uuid.uuid4().hex[:12]}", name=name, size=size.id,
                               image=image.id, tags=dict(ex_metadata or {}), user=user,
                               public_key=auth.pubkey, python=self.python)
        local.start()
        return self._node(local)

    def reboot_node(self, node: Node) -> bool:
        local = self._local(node)
        local.stop()
        local.start()
        return True

    def stop_node(self, node: Node) -> bool:
        self._local(node).stop()
        return True

    def start_node(self, node: Node) -> bool:
        self._local(node).start()
        return True

    def destroy_node(self, node: Node) -> bool:
        local = LocalNode(self.root / node.id)
        if local.folder.is_dir():
            local.destroy()
        return True
