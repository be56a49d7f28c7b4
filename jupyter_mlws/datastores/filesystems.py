"""The fsspec filesystem of a datastore location, with its credentials.

Each scheme's backend is imported when first used and, when missing, named with the extra that
installs it: ``s3`` (s3fs), ``gcs`` (gcsfs), ``azure`` (adlfs), ``ssh`` (paramiko).

Credentials come from a workspace secret (its text, read by the caller), never from the URL:

- ``s3``: a JSON object ``{"key": ACCESS_KEY_ID, "secret": SECRET_ACCESS_KEY[, "token": ...]}``
  (``aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token`` also read); without
  a secret, the AWS default chain (environment, profile, instance role);
- ``gs``: a service account's JSON key; without one, Google's default credentials;
- ``abfs``: a JSON object with one of ``account_key``, ``sas_token``, ``connection_string``, or
  ``client_id`` + ``client_secret`` + ``tenant_id``;
- ``sftp``: an SSH private key (OpenSSH or PEM; ed25519, ECDSA, RSA).  The host's key must be
  pinned in the workspace's known_hosts: the connection refuses any other (paramiko's
  RejectPolicy, never AutoAdd), and offers no agent and no ``~/.ssh`` keys;
- ``file``: none.

Errors about a secret name it, never quote its value.
"""

from __future__ import annotations

import json

from ..errors import InvalidInput, missing_dependency
from .urls import Location

#: the package and the extra installing each scheme's backend
BACKENDS = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "abfs": ("adlfs", "azure"),
            "sftp": ("paramiko", "ssh")}
_S3_KEYS = {"key": "key", "aws_access_key_id": "key", "secret": "secret",
            "aws_secret_access_key": "secret", "token": "token", "aws_session_token": "token"}
_ABFS_KEYS = ("account_key", "sas_token", "connection_string", "client_id", "client_secret",
              "tenant_id")
#: seconds a network step of an sftp connection may take
SFTP_TIMEOUT = 30.0


def require_backend(scheme: str) -> None:
    """Unavailable naming the extra to install when ``scheme``'s backend is missing."""
    if scheme not in BACKENDS:
        return
    package, extra = BACKENDS[scheme]
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise missing_dependency(package, extra)


def check_credentials(loc: Location, text: str | None, secret: str | None) -> None:
    """Refuse a secret whose text is not credentials of ``loc``'s scheme (nothing connects)."""
    if loc.scheme == "sftp":
        if text is not None:
            from ..compute.ssh.connection import load_private_key

            load_private_key(text, secret or "", loc.shown)
        return
    _credentials(loc, text, secret)


def open_filesystem(loc: Location, credentials: str | None = None, *, secret: str | None = None,
                    known_hosts=None):
    """A new fsspec filesystem reaching ``loc`` with ``credentials`` (the secret's text, or
    None) read from secret ``secret`` (its name, for messages).  ``known_hosts``
    (:class:`~jupyter_mlws.compute.ssh.hostkeys.KnownHosts`) is required for sftp.

    Raises Unavailable (the backend is not installed; an sftp connection failed, naming the
    step), InvalidInput (the secret holds no credentials of this kind).
    """
    require_backend(loc.scheme)
    if loc.scheme == "file":
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(auto_mkdir=True)
    if loc.scheme == "sftp":
        from .sftp import VerifiedSFTPFileSystem

        return VerifiedSFTPFileSystem(loc.host, port=loc.port, username=loc.user,
                                      known_hosts=known_hosts, private_key=credentials,
                                      key_secret=secret, timeout=SFTP_TIMEOUT)
    options = _credentials(loc, credentials, secret)
    if loc.scheme == "s3":
        import s3fs

        client = {k: v for k, v in (("endpoint_url", loc.options.get("endpoint_url")),
                                    ("region_name", loc.options.get("region"))) if v}
        return s3fs.S3FileSystem(client_kwargs=client, use_listings_cache=False,
                                 skip_instance_cache=True, **options)
    if loc.scheme == "gs":
        import gcsfs

        return gcsfs.GCSFileSystem(project=loc.options.get("project"), skip_instance_cache=True,
                                   **options)
    import adlfs

    return adlfs.AzureBlobFileSystem(account_name=loc.options.get("account_name"),
                                     skip_instance_cache=True, **options)


def _credentials(loc: Location, text: str | None, secret: str | None) -> dict:
    """The backend's keyword arguments holding the credentials in ``text``."""
    if text is None:
        return {}
    if loc.scheme == "file":
        raise InvalidInput("a file:// datastore takes no credentials: leave out --credentials-secret")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _not_credentials(loc, secret)
    if loc.scheme == "gs":
        return {"token": data}
    if loc.scheme == "s3":
        found = {_S3_KEYS[k]: v for k, v in data.items() if k in _S3_KEYS and isinstance(v, str)}
        if "key" not in found or "secret" not in found:
            raise _not_credentials(loc, secret)
        return found
    found = {k: v for k, v in data.items() if k in _ABFS_KEYS and isinstance(v, str)}
    if not found:
        raise _not_credentials(loc, secret)
    return found


def _not_credentials(loc: Location, secret: str | None) -> InvalidInput:
    shape = {"s3": '{"key": "ACCESS_KEY_ID", "secret": "SECRET_ACCESS_KEY"}',
             "gs": "a service account's JSON key file",
             "abfs": '{"account_key": "..."} (or sas_token, connection_string, or client_id, '
                     'client_secret and tenant_id)'}[loc.scheme]
    return InvalidInput(f"secret {secret!r} does not hold {loc.scheme} credentials: set it to "
                        f"{shape} ('mlws secret set {secret} --stdin < FILE')")


def probe(fs, loc: Location) -> None:
    """One cheap request showing the store answers: its folder made (sftp, file), its bucket
    seen (InvalidInput when it does not exist); the backend's own error otherwise."""
    if loc.scheme in ("sftp", "file"):
        fs.makedirs(loc.root, exist_ok=True)
        return
    bucket = loc.root.split("/", 1)[0]
    try:
        fs.info(bucket)  # not exists(): s3fs answers False for an endpoint that does not answer
    except FileNotFoundError:
        raise InvalidInput(f"{loc.shown}: bucket or container {bucket!r} does not exist (or these "
                           "credentials cannot see it): create it first") from None


def why(exc: BaseException) -> str:
    """A backend's error in one line: its type and first line (no credential is in either)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {(text[0] if text else 'no detail')[:300]}"
