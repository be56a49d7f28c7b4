"""SSH: any machine reachable by SSH, through paramiko (the ``ssh`` extra).

- :mod:`.failures`: the steps a connection goes through and the error that names the one that
  failed (DNS, TCP connect, SSH handshake, host key, authentication; then environment, transfer,
  execution);
- :mod:`.hostkeys`: the workspace's ``known_hosts`` file (0600 from its creation, in the
  workspace folder), host keys as text and their SHA256 fingerprints;
- :mod:`.connection`: :class:`~.connection.SSHConnection`, one verified, authenticated
  connection: remote commands (:mod:`.commands`), SFTP trees (:mod:`.transfer`) and reverse
  tunnels (:mod:`.tunnel`) over it.

Importing this package loads none of them (nor paramiko): each is imported where it is used.
"""
