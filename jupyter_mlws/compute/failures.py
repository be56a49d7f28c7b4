"""The steps of reaching and using a remote compute target, and the error naming the one that
failed.

A failure says which step failed and why in words a user can act on; it never carries a path
of this machine, a key or a secret.  The steps, in the order an SSH connection takes them (a
Dask scheduler's address goes through the first two, then ``scheduler``: a Dask scheduler
answers on the port):

``dns`` (the host name resolves), ``tcp`` (a TCP connection to its port), ``handshake`` (the
SSH protocol's greeting and key exchange), ``host_key`` (the host's key is the one pinned),
``authentication`` (the target's key is accepted); then ``environment`` (what the host must
have: Python, jupyter_mlws, room on disk), ``transfer`` (SFTP), ``tunnel`` (a port on the host
forwarded back here) and ``execution`` (a command; a Dask task).
"""

from __future__ import annotations

from ..errors import Unavailable

DNS, TCP, HANDSHAKE, HOST_KEY, AUTHENTICATION = "dns", "tcp", "handshake", "host_key", "authentication"
ENVIRONMENT, TRANSFER, TUNNEL, EXECUTION = "environment", "transfer", "tunnel", "execution"
#: a Dask cluster's own step, after DNS and TCP connect: its scheduler answers as one
SCHEDULER = "scheduler"
#: the steps of a connection, in order
CONNECT_STEPS = (DNS, TCP, HANDSHAKE, HOST_KEY, AUTHENTICATION)
#: how each step is named to a user
TITLES = {DNS: "DNS", TCP: "TCP connect", HANDSHAKE: "SSH handshake", HOST_KEY: "host key",
          AUTHENTICATION: "authentication", ENVIRONMENT: "environment", TRANSFER: "transfer",
          TUNNEL: "reverse tunnel", EXECUTION: "execution",
          SCHEDULER: "Dask scheduler"}


class StepFailed(Unavailable):
    """Reaching or using a remote target failed at one step.

    Attributes
    ----------
    step : str
        One of the step names above (``"tcp"``, ``"host_key"``, ...).
    where : str
        What was reached, as the user named it (``ssh alice@gpu1:22``, ``dask tcp://h:8786``).
    why : str
        Why, for a user to act on.  (Not ``reason``: that is every error's machine-readable kind.)
    """

    def __init__(self, step: str, where: str, why: str):
        self.step, self.where, self.why = step, where, why
        super().__init__(f"{where}: the {TITLES.get(step, step)} step failed: {why}")
