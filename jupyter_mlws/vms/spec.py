"""What a notebook VM is made of, checked in one place before anything is recorded or any
provider is called: its name, idle shutdown, schedule, time zone, scripts and the script
time-out.

- a **name**: 1 to 63 lowercase letters, digits and ``-``, starting with a letter, not ending
  with ``-`` (a DNS label: every cloud takes it as a machine name; ``../x`` never passes);
- **idle shutdown**: a duration, ``90s``, ``30m``, ``2h``, ``1d`` or a number of seconds, from
  1 minute to 30 days (stored only: the idle tick acts on it);
- a **schedule**: ``"start CRON; stop CRON"``, one or more ``ACTION MINUTE HOUR DAY MONTH
  WEEKDAY`` entries separated by ``;``, ACTION ``start`` or ``stop``, in the time zone ``tz``
  (an IANA name such as ``Europe/Berlin``; default UTC).  Stored only: the schedule tick acts on
  it (:func:`parse_schedule` gives its entries);
- **scripts** (setup: once after creation; startup: at every start): text, at most 1 MiB, no NUL;
- the **script time-out**: a duration as above, from 1 second to 24 hours (default 10 minutes).
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from ..limits import check_text

NAME_MAX = 63
_NAME = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DURATION = re.compile(r"(\d{1,9})\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
IDLE_MIN_S, IDLE_MAX_S = 60, 30 * 86400
SCRIPT_TIMEOUT_S = 600
SCRIPT_TIMEOUT_MAX_S = 86400
SCRIPT_MAX_BYTES = 1 << 20
SCHEDULE_MAX = 1000
ACTIONS = ("start", "stop")


def check_vm_name(name: object) -> str:
    """A VM's name (see the module's text), else InvalidInput saying the rule."""
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    shown = repr(name[:40]) + "..." if isinstance(name, str) and len(name) > 40 else repr(name)
    raise InvalidInput(f"invalid vm name {shown}: use 1 to {NAME_MAX} lowercase letters, digits "
                       "and '-', starting with a letter and not ending with '-' (e.g. gpu-box-1)")


def parse_duration(value: object, what: str, low: int, high: int) -> int:
    """Seconds of ``value`` (``"30m"``, ``"2h"``, ``"90s"``, ``"1d"``, or a number of seconds),
    from ``low`` to ``high``, else InvalidInput naming ``what``."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.fullmatch(value.strip().lower()) if isinstance(value, str) else None
        if match is None:
            raise InvalidInput(f"{what} is a duration such as 90s, 30m, 2h or 1d, got "
                               f"{str(value)[:40]!r}")
        seconds = int(match[1]) * _UNITS[match[2]]
    if not low <= seconds <= high:
        raise InvalidInput(f"{what} must be from {_show(low)} to {_show(high)}, got {_show(seconds)}")
    return seconds


def _show(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def idle_shutdown_of(value: object) -> int | None:
    """The idle shutdown in seconds (None: never)."""
    if value is None:
        return None
    return parse_duration(value, "--idle-shutdown", IDLE_MIN_S, IDLE_MAX_S)


def script_timeout_of(value: object) -> int:
    """The seconds a script may run (default 10 minutes)."""
    if value is None:
        return SCRIPT_TIMEOUT_S
    return parse_duration(value, "the script time-out", 1, SCRIPT_TIMEOUT_MAX_S)


def parse_schedule(text: str, tz: str = "UTC"):
    """The schedule (a :class:`jupyter_mlws.cron.Schedule`: its entries ``start CRON`` and ``stop
    CRON``), else InvalidInput from :func:`jupyter_mlws.cron.parse` naming the entry by number and
    text and what is wrong in it (the one rule every face shows)."""
    from ..cron import parse

    return parse(check_text(text, "--schedule"), tz, actions=ACTIONS)


def schedule_of(text: object, tz: object) -> tuple[str | None, str | None]:
    """The schedule as stored (its entries joined by ``"; "``) and its time zone (default UTC);
    ``(None, None)`` when there is none.  A time zone without a schedule is refused."""
    if text is None or (isinstance(text, str) and not text.strip()):
        if tz is not None:
            raise InvalidInput("--tz is the time zone of a --schedule: give the schedule too")
        return None, None
    if len(str(text)) > SCHEDULE_MAX:
        raise InvalidInput(f"the schedule is longer than {SCHEDULE_MAX} characters")
    zone = check_tz(tz or "UTC")
    return "; ".join(str(e) for e in parse_schedule(text, zone).entries), zone


def check_tz(tz: object) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``), else InvalidInput."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if isinstance(tz, str) and 0 < len(tz) <= 64 and ".." not in tz and not tz.startswith("/"):
        try:
            ZoneInfo(tz)
            return tz
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InvalidInput(f"unknown time zone {str(tz)[:64]!r}: give an IANA name such as "
                       "Europe/Berlin, America/New_York or UTC")


def script(text: object, what: str) -> str | None:
    """A script's text (None: no script), else InvalidInput."""
    if text is None:
        return None
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"the {what} is not UTF-8 text") from None
    text = check_text(text, f"the {what}")
    if "\0" in text or len(text.encode()) > SCRIPT_MAX_BYTES:
        raise InvalidInput(f"the {what} must be text without NUL, at most {SCRIPT_MAX_BYTES} bytes")
    if not text.strip():
        raise InvalidInput(f"the {what} is empty: give a script, or none")
    return text


def _label(value: object, what: str) -> str | None:
    """A size, image or region: text of 1 to 256 characters (None: not given)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise InvalidInput(f"{what} must be text of 1 to 256 characters")
    return check_text(value, what)


def options(name: str, provider, *, size, image, region, setup_script, startup_script,
            idle_shutdown, schedule, tz, credentials_secret, ssh_user, script_timeout) -> dict:
    """A VM's record values from the options of ``create`` for ``provider`` (a
    :class:`~.providers.Provider`), every one checked; the scripts' texts as ``setup_text`` and
    ``startup_text``.  InvalidInput names the first that is wrong (a provider without SSH given
    scripts; one that needs credentials given none)."""
    from ..compute.settings import check_user as check_login
    from ..secrets.names import check_name as check_secret_name

    setup = script(setup_script, "setup script")
    startup = script(startup_script, "startup script")
    if not provider.ssh and (setup or startup):
        raise InvalidInput(f"the {provider.name} provider's nodes are not reached over SSH: they "
                           "take no setup or startup script")
    if provider.credentials and credentials_secret is None:
        raise InvalidInput(f"the {provider.name} provider needs --credentials-secret NAME: a "
                           'workspace secret holding {"key": ..., "secret": ..., ...} (see the '
                           "README, Notebook VMs)")
    sched, sched_tz = schedule_of(schedule, tz)
    return {"name": name, "provider": provider.name, "size": _label(size, "the size"),
            "image": _label(image, "the image"), "region": _label(region, "the region"),
            "setup_text": setup, "startup_text": startup,
            "idle_shutdown_s": idle_shutdown_of(idle_shutdown),
            "schedule": sched, "schedule_tz": sched_tz,
            "script_timeout_s": script_timeout_of(script_timeout),
            "credentials_secret": None if credentials_secret is None
            else check_secret_name(credentials_secret),
            "ssh_user": None if ssh_user is None else check_login(ssh_user)}
