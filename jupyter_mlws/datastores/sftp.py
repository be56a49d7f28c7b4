"""fsspec's SFTP filesystem over the workspace's verified SSH connection.

fsspec's own ``SFTPFileSystem`` trusts whatever key a host presents unless told otherwise, and
lets paramiko offer the agent's and ``~/.ssh``'s keys.  This one connects through
:class:`~jupyter_mlws.compute.ssh.connection.SSHConnection` instead: the host's key must be
pinned in the workspace's known_hosts (RejectPolicy), only the datastore's key (from its secret,
in memory) is offered, and a failure names its step (DNS, TCP, handshake, host key,
authentication).
"""

from __future__ import annotations

from fsspec.implementations.sftp import SFTPFileSystem

from ..errors import Unavailable


class VerifiedSFTPFileSystem(SFTPFileSystem):
    """An SFTP filesystem on ``username@host:port`` whose host key is checked against
    ``known_hosts`` (a :class:`~jupyter_mlws.compute.ssh.hostkeys.KnownHosts`) and which logs in
    with ``private_key`` (its text; ``key_secret`` names its secret in messages)."""

    protocol = ("sftp", "ssh")

    def __init__(self, host: str, *, port: int, username: str, known_hosts, private_key: str | None,
                 key_secret: str | None = None, timeout: float = 30.0):
        if known_hosts is None:
            raise Unavailable("an sftp datastore needs the workspace's known_hosts")
        self._known_hosts, self._private_key = known_hosts, private_key
        self._key_secret, self._timeout = key_secret, timeout
        self.connection = None
        super().__init__(host, port=port, username=username, skip_instance_cache=True)

    def _connect(self) -> None:
        from ..compute.ssh.connection import SSHConnection

        kwargs = self.ssh_kwargs
        self.connection = SSHConnection.open(
            self.host, int(kwargs.get("port") or 22), kwargs["username"],
            known_hosts=self._known_hosts, private_key=self._private_key,
            key_secret=self._key_secret, timeout=self._timeout)
        self.client = self.connection.client
        self.ftp = self.client.open_sftp()

    def close(self) -> None:
        """Close the SFTP session and the SSH connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __reduce__(self):
        raise TypeError("an sftp datastore's filesystem holds a live connection and a key: "
                        "it is not pickled (open the datastore again where it is needed)")
