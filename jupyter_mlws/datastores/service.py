"""Datastores as workspace records: named places data lives, what every face calls.

``default`` is built in: the workspace's own folder ``datastores/default`` (beside its artifacts:
on object storage when they are), always listed, never registered or deleted.  Other datastores
are registered by name with a URL (:mod:`.urls`: s3, gs, abfs, sftp, file) and, optionally, the
workspace secret holding their credentials (:mod:`.filesystems`); only the secret's *name* is
recorded, and no listing, message or log shows a credential.

Registering checks everything before recording anything: the name, the URL (and that its hosts
are not link-local or cloud metadata addresses), the backend, the secret (it exists and holds
credentials of the scheme), an sftp host's key, and that the store answers with those
credentials.  A refused registration records nothing.

Roles (:mod:`jupyter_mlws.access`): readers list and show datastores; contributors and owners
register them (and use one whose credentials are a secret, which reads its value: an audited
read); owners delete them, and alone register ``file://`` ones (a folder of the machine the
workspace runs on: on a team server, the server's own disk).  A datastore that a dataset version lives in cannot be deleted (the
``in_use`` collaborator names them).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import AlreadyExists, Conflict, InvalidInput, NotFound, Unavailable
from ..run_records import now_ms
from ..store import schema as S
from .datastore import Datastore
from .filesystems import check_credentials, open_filesystem, probe, require_backend, why
from .urls import Location, parse

DEFAULT = "default"
#: the longest description, characters
DESCRIPTION_MAX = 2000
D = S.datastores


def _me() -> str:
    from ..access import os_user

    return os_user()


def check_datastore_name(name: object) -> str:
    """A datastore's name (a model's rule: letters, digits, ``_ . -``), else InvalidInput."""
    from ..models import check_name

    return check_name(name, "datastore name")


class DatastoreService:
    """The datastores of one workspace.

    Parameters
    ----------
    db : Database
        The metadata store (table ``datastores``).
    access : AccessService
        Decides who may do what (``user`` below, default this OS user; ``check_actor=False``
        when the caller has decided already, as a personal Jupyter server does).
    secrets : SecretService
        Holds the datastores' credentials (by the secret's name).
    known_hosts : KnownHosts
        The workspace's known_hosts file (sftp datastores' host keys).
    default : callable
        ``default() -> (Location, connect)``: the built-in ``default`` datastore's location and
        a function making its filesystem.
    in_use : callable, optional
        ``in_use(name) -> list[str]``: what lives in datastore ``name`` (dataset versions), which
        refuses its deletion.
    """

    def __init__(self, db, *, access, secrets, known_hosts, default: Callable,
                 in_use: Callable[[str], list[str]] | None = None):
        self.db, self.access, self.secrets = db, access, secrets
        self.known_hosts = known_hosts
        self._default = default
        self._in_use = in_use

    def _require(self, user: str | None, action: str, check: bool) -> str:
        user = _me() if user is None else user
        if check:
            self.access.require(user, action, "datastores")
        return user

    # -- reading ------------------------------------------------------------------------------

    def list(self) -> list[dict]:
        """Every datastore, ``default`` first, then by name (the fields of :meth:`get_record`)."""
        with self.db.read() as conn:
            rows = conn.execute(select(D).order_by(D.c.name)).mappings().all()
        return [self._default_record(), *(_describe(r) for r in rows)]

    def get_record(self, name: str) -> dict:
        """One datastore: ``name, url`` (no credentials, no query), ``scheme, options`` (an s3
        ``endpoint_url``, ``region``...), ``credentials_secret`` (the secret's name, or None),
        ``host_key`` and ``host_key_fingerprint`` (sftp), ``description, builtin, created_at``
        (ms) and ``created_by``.  NotFound when there is none."""
        name = check_datastore_name(name)
        if name == DEFAULT:
            return self._default_record()
        return _describe(self._row(name))

    def _row(self, name: str):
        with self.db.read() as conn:
            row = conn.execute(select(D).where(D.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no datastore {name!r}: 'mlws datastore list' shows them")
        return row

    def _default_record(self) -> dict:
        loc, _connect = self._default()
        return {"name": DEFAULT, "url": loc.shown, "scheme": loc.scheme, "options": {},
                "credentials_secret": None, "host_key": None, "host_key_fingerprint": None,
                "description": "the workspace's own datastore", "builtin": True,
                "created_at": None, "created_by": ""}

    def get(self, name: str, *, user: str | None = None, check_actor: bool = True) -> Datastore:
        """Datastore ``name`` ready for use (a :class:`~.datastore.Datastore`: ``fs``, ``root``,
        ``objects``, ``join``); its filesystem connects on first use.

        Readers may use a datastore without credentials; one whose credentials are a secret
        needs a contributor or owner (its value is read, audited as read by ``user``), unless
        ``check_actor`` is False (the caller decided: a server acting for a reader).  Its hosts
        are checked again (:mod:`.urls`).

        Raises NotFound, PermissionDenied, Conflict (its secret is deleted), InvalidInput (a host
        now refused), Unavailable (the backend is not installed; a host does not resolve).
        """
        name = check_datastore_name(name)
        user = self._require(user, "read", check_actor)
        if name == DEFAULT:
            loc, connect = self._default()
            return Datastore(DEFAULT, loc, connect)
        row = self._row(name)
        loc = parse(row["url"])
        require_backend(loc.scheme)
        secret = row["credentials_secret"]
        credentials = None
        if secret is not None:
            self._require(user, "write", check_actor)
            credentials = self._secret_of(name, secret, user)
        if row["host_key"]:
            self._pin(loc, row["host_key"])
        return Datastore(name, loc, lambda: open_filesystem(
            loc, credentials, secret=secret, known_hosts=self.known_hosts))

    def _secret_of(self, name: str, secret: str, user: str) -> str:
        """The text of datastore ``name``'s credentials secret; Unavailable saying how else to
        reach the datastore when this machine lacks the workspace's secrets key file."""
        from ..secrets.vault import KeyMissing

        try:
            return self.secrets.read(user, secret, check_actor=False)
        except KeyMissing:
            keyfile = self.secrets.vault.keyfile.shown
            raise Unavailable(
                f"datastore {name!r}'s credentials are the workspace secret {secret!r}, which is "
                f"encrypted under the workspace's secrets key file ({keyfile}), and this machine "
                "does not have it: read the datastore's data through the workspace server "
                "(MLWS_WORKSPACE=URL, or Workspace.connect(URL, token)), or copy the key file "
                "from the machine the workspace was created on (mode 0600)") from None

    def _pin(self, loc: Location, host_key: str) -> None:
        """Put a recorded sftp host key in this machine's known_hosts (a team's other machines
        learn it from the record)."""
        from ..compute.ssh.hostkeys import parse_host_key

        self.known_hosts.ensure(loc.host, loc.port, parse_host_key(host_key))

    # -- changing -----------------------------------------------------------------------------

    def register(self, name: str, url: str, *, credentials_secret: str | None = None,
                 description: str | None = None, user: str | None = None,
                 host_key: str | None = None, check: bool = True,
                 check_actor: bool = True) -> dict:
        """Record datastore ``name`` at ``url``; return it (:meth:`get_record`).  Contributors
        and owners.

        Parameters
        ----------
        name : str
            Letters, digits, ``_ . -`` (``default`` is taken).
        url : str
            ``s3://BUCKET/PREFIX[?endpoint_url=...&region=...]``, ``gs://BUCKET/PREFIX``,
            ``abfs://CONTAINER/PREFIX?account_name=...``, ``sftp://USER@HOST[:PORT]/PATH`` or
            ``file:///PATH`` (see :mod:`.urls`); never credentials.
        credentials_secret : str, optional
            The workspace secret holding the credentials (see :mod:`.filesystems` for each
            scheme's form); it is read (audited) to check them.
        description : str, optional
        host_key : str, optional
            sftp: the host's key (``ssh-ed25519 AAAA...``, as ``ssh-keyscan`` prints it),
            pinned in the workspace's known_hosts.  Not needed when the host is pinned already
            (by a compute target, or an earlier datastore).
        check : bool
            Reach the store with the credentials before recording it (default).

        Raises
        ------
        InvalidInput
            A bad name, URL, description or secret content; a refused host; an sftp host whose
            key is not pinned and not given.
        AlreadyExists
            The name is taken.
        NotFound, Conflict
            The secret is missing or deleted; the sftp host is pinned with another key.
        Unavailable
            The backend is not installed; the store cannot be reached with these credentials
            (the message names the step or the store's answer, never a credential).
        PermissionDenied
            A reader (or nobody); a contributor registering a ``file://`` datastore.
        """
        name = check_datastore_name(name)
        user = self._require(user, "write", check_actor)
        if name == DEFAULT:
            raise AlreadyExists("the default datastore is built in: choose another name")
        loc = parse(url)
        if loc.scheme == "file":  # a folder of the machine the workspace runs on: its owners' to open
            self._require(user, "admin", check_actor)
        require_backend(loc.scheme)
        description = _description(description)
        self._check_free(name)
        credentials = self._credentials(loc, credentials_secret, user)
        pinned = self._host_key(loc, host_key)
        if check:
            self._check_reachable(loc, credentials, credentials_secret, pinned)
        row = {"name": name, "url": loc.url, "credentials_secret": credentials_secret,
               "host_key": pinned, "description": description, "created_at": now_ms(),
               "created_by": user}

        def write(conn) -> None:
            if conn.execute(select(D.c.pk).where(D.c.name == name)).first() is not None:
                raise _taken(name)
            conn.execute(insert(D).values(**row))

        try:
            self.db.transact(write)
        except IntegrityError:
            raise _taken(name) from None
        if pinned is not None:
            self._pin(loc, pinned)
        return self.get_record(name)

    def _check_free(self, name: str) -> None:
        with self.db.read() as conn:
            if conn.execute(select(D.c.pk).where(D.c.name == name)).first() is not None:
                raise _taken(name)

    def _credentials(self, loc: Location, secret: str | None, user: str) -> str | None:
        """The text of the credentials' secret, checked for ``loc``'s scheme (None: none)."""
        if secret is None:
            if loc.scheme == "sftp":
                raise InvalidInput("an sftp datastore logs in with an SSH private key: store it "
                                   "('mlws secret set NAME --stdin < KEYFILE') and name it as "
                                   "the datastore's credentials secret (--credentials-secret NAME)")
            return None
        if loc.scheme == "file":
            raise InvalidInput("a file:// datastore takes no credentials: leave out --credentials-secret")
        if self.secrets.show(secret)["state"] == "deleted":
            raise Conflict(f"secret {secret!r} is deleted: recover it ('mlws secret recover "
                           f"{secret}') or give another --credentials-secret")
        text = self.secrets.read(user, secret, check_actor=False)
        check_credentials(loc, text, secret)
        return text

    def _host_key(self, loc: Location, given: str | None) -> str | None:
        """An sftp host's key to record ("TYPE BASE64"): given, or the one pinned already."""
        if loc.scheme != "sftp":
            if given is not None:
                raise InvalidInput("a host key is pinned for sftp datastores only")
            return None
        from ..compute.ssh.hostkeys import known_name, parse_host_key

        pinned = self.known_hosts.keys(loc.host, loc.port)
        where = known_name(loc.host, loc.port)
        if given is None:
            if not pinned:
                raise InvalidInput(f"the host key of {where} is not pinned in the workspace: give "
                                   "--host-key 'ssh-ed25519 AAAA...' (what 'ssh-keyscan -p PORT "
                                   "HOST' prints, checked with the host's owner)")
            kind, data = next(iter(pinned.items()))
            return f"{kind} {data}"
        key = parse_host_key(given)
        if pinned and pinned.get(key.type) != key.data:
            raise Conflict(f"the workspace pins another key for {where}: check the host; if its "
                           "key changed, remove the old pin first (the compute target or "
                           "datastore using it)")
        return key.text

    def _check_reachable(self, loc: Location, credentials: str | None, secret: str | None,
                         host_key: str | None) -> None:
        """Reach the store as its users will; Unavailable or InvalidInput saying what failed."""
        import tempfile

        from ..compute.ssh.hostkeys import KnownHosts, parse_host_key
        from ..errors import MlwsError

        with tempfile.TemporaryDirectory(prefix="mlws-hostkey-") as folder:
            known = self.known_hosts
            if host_key is not None:  # checked against the key about to be pinned, not yet pinned
                known = KnownHosts(f"{folder}/known_hosts")
                known.pin(loc.host, loc.port, parse_host_key(host_key))
            try:
                fs = open_filesystem(loc, credentials, secret=secret, known_hosts=known)
                try:
                    probe(fs, loc)
                finally:
                    if hasattr(fs, "connection"):
                        fs.close()
            except MlwsError:
                raise
            except Exception as exc:  # noqa: BLE001 - each backend has its own errors
                hint = ""
                if credentials is None and loc.scheme in ("s3", "gs", "abfs") and "credential" in \
                        why(exc).lower():
                    hint = ("; store its credentials in a workspace secret ('mlws secret set "
                            "NAME --stdin') and name it as the datastore's credentials secret "
                            "(--credentials-secret NAME), or give this machine's own (for S3: "
                            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role)")
                raise Unavailable(f"datastore {loc.shown} cannot be reached: {why(exc)}{hint}; "
                                  "nothing was registered") from None

    def delete(self, name: str, *, user: str | None = None, check_actor: bool = True) -> None:
        """Remove datastore ``name``'s record (its files stay where they are).  Owners.

        Raises NotFound; Conflict for ``default`` or while dataset versions live in it (naming
        them); PermissionDenied.
        """
        name = check_datastore_name(name)
        self._require(user, "admin", check_actor)
        if name == DEFAULT:
            raise Conflict("the default datastore is built in: it cannot be deleted")
        self._row(name)
        users = list(self._in_use(name)) if self._in_use is not None else []
        if users:
            shown = ", ".join(users[:5]) + (", ..." if len(users) > 5 else "")
            raise Conflict(f"datastore {name!r} holds dataset versions ({shown}): delete them "
                           "first, then the datastore")

        def write(conn) -> None:
            if conn.execute(delete(D).where(D.c.name == name)).rowcount == 0:
                raise NotFound(f"no datastore {name!r}: 'mlws datastore list' shows them")

        self.db.transact(write)


def _description(text: object) -> str:
    if text is None:
        return ""
    if not isinstance(text, str) or len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"a datastore's description is text of at most {DESCRIPTION_MAX} characters")
    return text


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(f"datastore {name!r} exists: delete it first ('mlws datastore delete "
                         f"{name}') or choose another name")


def _describe(row) -> dict:
    loc = parse(row["url"], check_hosts=False)
    out = {"name": row["name"], "url": loc.shown, "scheme": loc.scheme,
           "options": dict(loc.options), "credentials_secret": row["credentials_secret"],
           "host_key": None, "host_key_fingerprint": None, "description": row["description"],
           "builtin": False, "created_at": row["created_at"], "created_by": row["created_by"]}
    if row["host_key"]:
        from ..compute.ssh.hostkeys import parse_host_key

        key = parse_host_key(row["host_key"])
        out.update(host_key=key.text, host_key_fingerprint=key.fingerprint)
    return out
