"""Reaching a VM over SSH: its address and login recorded, its host key pinned, a verified
connection opened.

The host key is pinned at creation: the key the provider reports for the node (the local
provider made it, so it is known before anyone connects), else the key the node presents at
first contact (what a cloud's console would show; the VM's log says which).  From then on a
connection must meet that key: a changed key is refused, naming the host and both fingerprints,
and nothing is sent.  Pins live in the VM's record and in the workspace's known_hosts file
(``.mlws/known_hosts``, 0600); a local node's new port after a start gets the same key.
"""

from __future__ import annotations

import time

from ..errors import Conflict


def fingerprint(host_key: str | None) -> str | None:
    """``SHA256:...`` of a recorded ``"TYPE BASE64"`` key; None without one."""
    if not host_key:
        return None
    from ..compute.ssh.hostkeys import HostKey

    return HostKey(*host_key.split(" ", 1)).fingerprint


def address(vm: dict, node, addresses: list[str], prov, log, known_hosts, timeout: float, *,
            first: bool) -> dict:
    """The record's fields for a node that runs (``host, ssh_port, ssh_user, host_key,
    python``), its key pinned for that address in ``known_hosts`` (a former address forgotten).
    At creation (``first``) the key is the one reported or presented now; later the recorded
    one."""
    from ..compute.ssh.hostkeys import parse_host_key

    host, port = addresses[0], int(node.extra.get("ssh_port") or 22)
    user = vm["ssh_user"] or prov.ssh_user or node.extra.get("ssh_user")
    if first:
        reported = node.extra.get("host_key")
        key = parse_host_key(reported) if reported else first_contact(host, port, prov, log, timeout)
        host_key = key.text
        log.say(f"host key {key.fingerprint} pinned for {host}:{port}"
                + ("" if reported else " (as presented at first contact)"))
    else:
        host_key = vm["host_key"]
    if vm["host"] is not None and (vm["host"], vm["ssh_port"]) != (host, port):
        known_hosts.forget(vm["host"], vm["ssh_port"])
    known_hosts.pin(host, port, parse_host_key(host_key))
    return {"host": host, "ssh_port": port, "ssh_user": user, "host_key": host_key,
            "python": vm["python"] or node.extra.get("python") or "python3"}


def first_contact(host: str, port: int, prov, log, timeout: float):
    """The key the host presents once its SSH server answers (within the provider's boot
    time-out); StepFailed naming the step after that."""
    from ..compute.failures import StepFailed
    from ..compute.ssh.connection import fetch_host_key

    deadline = time.monotonic() + prov.boot_timeout
    while True:
        try:
            return fetch_host_key(host, port, timeout)
        except StepFailed as exc:
            if time.monotonic() > deadline:
                raise
            log.say(f"waiting for SSH: {exc.why}")
            time.sleep(prov.wait_period)


def connect(vm: dict, known_hosts, secrets, actor: str, timeout: float):
    """An open SSH connection to ``vm`` (an :class:`~jupyter_mlws.compute.ssh.connection.
    SSHConnection`), its login key read from its secret as ``actor`` (audited), its host key the
    pinned one; a changed key is refused naming the VM.  Conflict for a VM without an address."""
    from ..compute.failures import HOST_KEY, StepFailed
    from ..compute.ssh.connection import SSHConnection
    from ..compute.ssh.hostkeys import parse_host_key

    if vm["host"] is None or vm["host_key"] is None:
        raise Conflict(f"vm {vm['name']!r} is {vm['state']} and has no address yet")
    key = secrets.read(actor, vm["key_secret"], check_actor=False)
    known_hosts.ensure(vm["host"], vm["ssh_port"], parse_host_key(vm["host_key"]))
    try:
        return SSHConnection.open(vm["host"], vm["ssh_port"], vm["ssh_user"], known_hosts=known_hosts,
                                  private_key=key, key_secret=vm["key_secret"], timeout=timeout)
    except StepFailed as exc:
        if exc.step != HOST_KEY:
            raise
        first = exc.why.split(" Nothing was sent.")[0]
        raise StepFailed(HOST_KEY, exc.where, (
            f"{first} (the key pinned when vm {vm['name']!r} was created). Nothing was sent. If "
            "the VM was rebuilt, delete it and create it again")) from None
