"""What a compute target is, checked in one place: its name, its type, and the type's settings.

- ``local``: this machine, built in (never created or deleted);
- ``ssh``: ``host``, ``user``, ``port`` (22), ``workdir`` (the folder runs work in on the host,
  relative to the login folder or absolute; default ``mlws-work``), ``python`` (the interpreter
  there, default ``python3``; absolute, ``~/...`` below the login's home there, or a name on
  its PATH), ``key_secret`` (the name of the workspace secret holding the
  private key), ``env`` (what runs execute with there: ``system``, the default, the target's
  ``python`` as it is; ``build``, the run's environment built on the host on first use and
  reused), ``keepalive`` (seconds, default 10: a quiet connection sends a keepalive that often,
  and a run's connection that gets no answer for 3 of them is lost, see
  :mod:`.ssh.connection`), and the host's pinned key (:mod:`.ssh.hostkeys`);
- ``dask``: ``address`` of a scheduler, ``tcp://HOST:PORT`` or ``tls://HOST:PORT``; ``env``
  (``system``, the default: runs execute with the workers' own Python; ``build``: each run's
  environment built on the worker's machine on first use and reused, see :mod:`.dask_env`).

Every setting is checked before anything is recorded or any connection is made; an option that
belongs to another type is refused, so a typo never goes unnoticed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import InvalidInput
from ..limits import check_text

LOCAL, SSH, DASK = "local", "ssh", "dask"
#: a notebook VM (jupyter_mlws.vms): reached over SSH as an ssh target, created as a VM
VM = "vm"
#: the types a target may be created with (``local`` is built in)
CREATABLE = (SSH, DASK)
DEFAULT_PORT = 22
DEFAULT_WORKDIR = "mlws-work"
DEFAULT_PYTHON = "python3"
#: seconds between keepalives on an ssh target's connection (its ``keepalive`` setting)
DEFAULT_KEEPALIVE = 10
KEEPALIVE_MAX = 3600
#: the settings of each type
OPTIONS = {SSH: ("host", "user", "port", "workdir", "python", "key_secret", "env", "keepalive"),
           DASK: ("address", "env")}
#: what an ssh target's runs execute with: its ``python`` as it is, or the run's environment built
ENV_MODES = ("system", "build")
PATH_MAX = 1024
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
DASK_SCHEMES = ("tcp", "tls")


def check_target_name(name: object) -> str:
    """A target's name: what runs record and ``--compute NAME`` takes (a model's rule)."""
    from ..models import check_name

    return check_name(name, "compute target name")


def check_type(kind: object) -> str:
    """A type a target may be created with, else InvalidInput."""
    if kind == LOCAL:
        raise InvalidInput("the local target is built in: create an ssh or dask target")
    if kind not in CREATABLE:
        raise InvalidInput(f"unknown compute target type {kind!r}: use one of {', '.join(CREATABLE)}")
    return kind


def check_host(host: object) -> str:
    """A host name, an IPv4 or an IPv6 address (no brackets, no user, no port)."""
    if isinstance(host, str) and (_HOST.fullmatch(host) or (":" in host and _IPV6.fullmatch(host))):
        return host
    raise InvalidInput(f"invalid host {host!r}: give a host name or an IP address (the user and the "
                       "port are their own settings: --user, --port)")


def check_port(port: object) -> int:
    """A TCP port, 1 to 65535."""
    if isinstance(port, str) and port.isdecimal() and len(port) <= 5:
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput(f"invalid port {port!r}: give a number from 1 to 65535")
    return port


def check_user(user: object) -> str:
    """A login name on the host."""
    if isinstance(user, str) and _USER.fullmatch(user):
        return user
    raise InvalidInput(f"invalid user {user!r}: give the login name on the host (letters, digits, "
                       "'.', '_' and '-', up to 64 characters)")


def check_remote_path(path: object, what: str) -> str:
    """A folder or program on the host: text without control characters, at most
    :data:`PATH_MAX` characters.  Any other character is allowed: commands quote it."""
    text = check_text(path, what)
    if not text or len(text) > PATH_MAX or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput(f"{what} must be 1 to {PATH_MAX} characters without control characters")
    if text.startswith("~"):
        raise InvalidInput(f"{what} {text!r} starts with '~', which commands take literally: give "
                           "it relative to the login folder (e.g. mlws-work), or absolute")
    return text


def check_python(python: object) -> str:
    """The interpreter on the host: a name found on its PATH (``python3``), an absolute path, or
    ``~/PATH``, below the login's home on the host (expanded there by the command's shell: see
    :mod:`.ssh.commands`).  Runs start it from their own folders, where other relative paths
    name nothing."""
    what = "the interpreter (--python)"
    home = isinstance(python, str) and python.startswith("~/") and len(python) > 2
    if isinstance(python, str) and not home and (
            python.startswith("~") or ("/" in python and not python.startswith("/"))):
        raise InvalidInput(f"{what} {python[:200]!r} is not an absolute path: runs start it from "
                           "their own folders, where relative paths name nothing; give its "
                           "absolute path (e.g. /home/alice/venv/bin/python), one below the login's "
                           "home on the host (~/venv/bin/python, quoted so that your shell leaves "
                           "it alone) or a name on the host's PATH (python3)")
    if home:
        return "~/" + check_remote_path(python[2:], what)
    return check_remote_path(python, what)


def check_workdir(workdir: object) -> str:
    """The folder runs work in on the host (each run in a folder of its own below it)."""
    text = check_remote_path(workdir, "the work folder (--workdir)")
    if text.strip("/.") == "":
        raise InvalidInput(f"the work folder cannot be {text!r}: give a folder of its own, e.g. "
                           f"{DEFAULT_WORKDIR}")
    return text


def check_env(env: object) -> str:
    """What a target's runs execute with (default ``system``), else InvalidInput."""
    if env is not None and env not in ENV_MODES:
        raise InvalidInput(f"invalid --env {str(env)[:40]!r}: use system (the target's python as "
                           "it is) or build (each run's environment, built there once)")
    return env or ENV_MODES[0]


def check_keepalive(seconds: object) -> int:
    """Seconds between keepalives, 1 to :data:`KEEPALIVE_MAX`."""
    if isinstance(seconds, str) and seconds.isdecimal() and len(seconds) <= 5:
        seconds = int(seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= KEEPALIVE_MAX:
        raise InvalidInput(f"invalid keepalive {str(seconds)[:40]!r}: give whole seconds from 1 to "
                           f"{KEEPALIVE_MAX} (default {DEFAULT_KEEPALIVE})")
    return seconds


def ssh_settings(*, host: object = None, user: object = None, port: object = None,
                 workdir: object = None, python: object = None, key_secret: object = None,
                 env: object = None, keepalive: object = None) -> dict:
    """The settings of an ssh target, checked; InvalidInput names the first wrong one."""
    from ..secrets.names import check_name as check_secret_name

    if host is None or user is None:
        raise InvalidInput("an ssh target needs --host and --user (the login name on the host)")
    return {"host": check_host(host), "user": check_user(user),
            "port": DEFAULT_PORT if port is None else check_port(port),
            "workdir": DEFAULT_WORKDIR if workdir is None else check_workdir(workdir),
            "python": DEFAULT_PYTHON if python is None else check_python(python),
            "key_secret": None if key_secret is None else check_secret_name(key_secret),
            "env": check_env(env),
            "keepalive": DEFAULT_KEEPALIVE if keepalive is None else check_keepalive(keepalive)}


def dask_settings(*, address: object = None, env: object = None) -> dict:
    """The settings of a dask target: its scheduler's address and ``env``, checked."""
    if address is None:
        raise InvalidInput("a dask target needs --address tcp://HOST:PORT (its scheduler's)")
    text = check_text(address, "the scheduler's address")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in DASK_SCHEMES or not parts.hostname or port is None \
            or parts.path not in ("", "/") or parts.query or parts.username:
        raise InvalidInput(f"invalid scheduler address {text[:200]!r}: give tcp://HOST:PORT or "
                           "tls://HOST:PORT (dask scheduler prints it)")
    check_host(parts.hostname)
    return {"address": f"{parts.scheme}://{parts.netloc}", "env": check_env(env)}


def settings_for(kind: str, options: dict) -> dict:
    """The checked settings of a ``kind`` target from ``options`` (None: not given); an option
    of another type is refused."""
    given = {k: v for k, v in options.items() if v is not None}
    foreign = sorted(set(given) - set(OPTIONS[kind]))
    if foreign:
        raise InvalidInput(f"{', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not a "
                           f"setting of {kind} targets: they take {', '.join(OPTIONS[kind])}")
    return ssh_settings(**given) if kind == SSH else dask_settings(**given)


def dask_host_port(address: str) -> tuple[str, int]:
    """The host and port of a checked scheduler address."""
    parts = urlsplit(address)
    return parts.hostname, parts.port
