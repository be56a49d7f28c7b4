"""What a schedule is made of, checked: its name, cron and time zone, catch-up, retries,
parameters, secrets and webhooks; and how it is shown (the cron in words, the next fire times in
its zone, a webhook URL with its secret parts left out).

Every check raises InvalidInput saying what is wrong and what to give instead, before anything
is stored.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Iterable, Mapping

from ..cron import UTC, Cron, Entry, Schedule, zone
from ..errors import InvalidInput
from ..ticks import CatchUp
from .webhooks import check_webhook_url, redact_url  # noqa: F401 (redact_url: shown in listings)

KINDS = ("notebook", "pipeline")
#: the one action of a schedule's cron (what its tick claims record)
ACTION = "run"
#: how many fire times a schedule shows
NEXT_SHOWN = 5
#: the most retries of a failed run
RETRIES_MAX = 10
#: seconds before the first retry of a failed run; each further one waits twice as long
RETRY_BACKOFF_S = 60.0
#: the longest wait before a retry, seconds
RETRY_BACKOFF_MAX_S = 3600.0
#: the most webhooks of one schedule
NOTIFY_MAX = 10
#: when a webhook is posted: ``on`` as the API takes it, and the CLI's words for it
NOTIFY_ON = {"failure": ["failure"], "success": ["success"], "both": ["failure", "success"]}


def check_name(name: object) -> str:
    """A schedule's name (a model's rule: letters, digits, '.', '_' and '-', up to 128)."""
    from ..models import check_name as check

    return check(name, "schedule name")


def local_zone() -> str:
    """The IANA name of this machine's time zone (``TZ``, ``/etc/timezone``, the target of
    ``/etc/localtime``), ``UTC`` when none can be named."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            candidates.append(f.read().strip())
    except OSError:
        pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name and "/" in name or name == "UTC":
            try:
                zone(name)
                return name
            except InvalidInput:
                continue
    return "UTC"


def cron_schedule(expr: object, tz: object) -> Schedule:
    """The schedule of one cron expression (five fields, or an alias such as ``@daily``) read in
    zone ``tz``.  InvalidInput naming the bad field (``61 * * * *``), the wrong number of fields
    (a seven-field expression) or the unknown zone."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidInput("give the schedule's cron: five fields, minute hour day-of-month month "
                           "day-of-week, e.g. '0 6 * * 1-5' (6:00 on weekdays)")
    if not isinstance(tz, str):
        raise InvalidInput(f"a time zone is an IANA name such as 'Europe/Berlin', got {tz!r}")
    return Schedule((Entry(ACTION, Cron(expr, tz)),), tz)


def describe(schedule: Schedule, hour12: bool = False) -> str:
    """The schedule's cron in words, e.g. ``At 06:00, Monday through Friday`` (cron-descriptor);
    ``hour12``: on a 12-hour clock (``At 06:00 AM``), as a reader whose locale reads times so
    sees the fire times."""
    try:
        from cron_descriptor import Options, get_description
    except ModuleNotFoundError:
        from ..errors import missing_dependency

        raise missing_dependency("cron-descriptor", "cron") from None
    options = Options()
    options.use_24hour_time_format = not hour12
    options.verbose = False
    cron = schedule.entries[0].cron
    try:
        return get_description(" ".join(cron.fields), options)
    except Exception:  # its own errors: the expression was checked, the words are a courtesy
        return cron.expr


def next_fires(schedule: Schedule, after: datetime, n: int = NEXT_SHOWN) -> list[str]:
    """The next ``n`` fire times after ``after``, as ISO 8601 with the zone's offset."""
    where = zone(schedule.tz)
    return [iso(f.at, where) for f in schedule.next(after, n)]


def iso(instant: datetime, where=UTC) -> str:
    """``instant`` as ISO 8601 in zone ``where`` (seconds, with the offset)."""
    return instant.astimezone(where).isoformat(timespec="seconds")


def check_catch_up(text: object) -> str:
    """``latest`` (default), ``skip`` or ``all:N``, normalised."""
    if text is not None and not isinstance(text, str):
        raise InvalidInput(f"catch_up is 'latest', 'skip' or 'all:N', got {text!r}")
    return str(CatchUp.parse(text))


def check_retries(value: object) -> int:
    """How many times a failed run is retried: an integer from 0 to :data:`RETRIES_MAX`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= RETRIES_MAX:
        raise InvalidInput(f"retries is an integer from 0 to {RETRIES_MAX} (how many times a "
                           f"failed run is tried again), got {value!r}")
    return value


def backoff(attempt: int, base: float = RETRY_BACKOFF_S) -> float:
    """Seconds to wait before retry ``attempt`` (1 the first): ``base``, doubling, at most
    :data:`RETRY_BACKOFF_MAX_S`."""
    return min(RETRY_BACKOFF_MAX_S, base * 2 ** (attempt - 1))


def check_params(params: object, *, steps: bool = False) -> dict[str, Any]:
    """The parameters given to each run: names are identifiers (``steps``: a pipeline's, where
    ``STEP.NAME`` sets one step's parameter, as ``mlws pipeline run -p`` takes them), values
    JSON."""
    from ..notebooks.parameters import check_parameters

    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidInput("params is a mapping of parameter name to value, e.g. {\"rows\": 500}")
    if not steps:
        return check_parameters(params)
    check_parameters({f"p{i}": v for i, v in enumerate(params.values())})  # count, values
    for name, value in params.items():  # the step's name and its parameters: the pipeline's check
        check_parameters({str(name).partition(".")[2] or name: value})
    return dict(params)


def check_run_options(no_reuse: object, force: object, kind: str) -> dict[str, Any]:
    """A pipeline schedule's reuse options as stored: ``{}``, ``{"no_reuse": True}`` (every
    step of each run runs) or ``{"force": [STEP, ...]}`` (those steps and what follows them run
    even when unchanged), as ``mlws pipeline run --no-reuse / --force`` take them; the steps
    are checked against the pipeline by the caller.  InvalidInput for a notebook schedule, both
    at once, or a bad value."""
    if isinstance(force, str):
        force = [force]
    if no_reuse is None:
        no_reuse = False
    if not isinstance(no_reuse, bool):
        raise InvalidInput(f"no_reuse is true or false, got {no_reuse!r}")
    if force is None:
        force = []
    if not isinstance(force, (list, tuple)) or not all(isinstance(f, str) and f for f in force):
        raise InvalidInput("force is a list of the pipeline's step names, e.g. [\"prep\"]")
    if not (no_reuse or force):
        return {}
    if kind != "pipeline":
        raise InvalidInput("no_reuse and force are a pipeline schedule's options (a notebook "
                           "schedule's run always runs): drop them")
    if no_reuse and force:
        raise InvalidInput("give force (some steps) or no_reuse (every step), not both")
    return {"no_reuse": True} if no_reuse else {"force": list(dict.fromkeys(force))}


def check_secrets(specs: object) -> list[str]:
    """Secrets given to each run, as ``NAME`` or ``NAME=ENVVAR`` (checked, not read)."""
    from ..secrets.names import parse_bindings

    if specs is None:
        return []
    if isinstance(specs, str) or not isinstance(specs, Iterable) or isinstance(specs, Mapping):
        raise InvalidInput("secrets is a list of secret names (NAME or NAME=ENVVAR), e.g. "
                           "[\"db-password\"]")
    specs = list(specs)
    parse_bindings(specs)
    return specs


def check_compute(name: object) -> str | None:
    """A compute target's name (None or ``local``: this machine)."""
    if name is None or name == "local":
        return None
    from ..compute.settings import check_target_name

    return check_target_name(name)


def check_notify(entries: object, allow_private: bool = False) -> list[dict]:
    """Webhooks as stored: ``[{"url", "on": ["failure"] | ["success"] | ["failure",
    "success"]}]``.  An entry may be a URL alone (posted on failure).  Each URL is checked by
    :func:`jupyter_mlws.schedules.notify.check_webhook_url` when it is installed (http(s) only,
    no link-local or metadata address, private ones only if ``allow_private``), else for its
    scheme and host."""
    if entries is None:
        return []
    if isinstance(entries, (str, Mapping)):
        entries = [entries]
    if not isinstance(entries, Iterable):
        raise InvalidInput('notify is a list of webhooks: [{"url": "https://...", "on": '
                           '["failure"]}]')
    out = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, Mapping) or set(entry) - {"url", "on"} or "url" not in entry:
            raise InvalidInput('each webhook is {"url": "https://...", "on": ["failure"]} '
                               '("on": failure, success or both of them)')
        out.append({"url": check_url(entry["url"], allow_private), "on": _check_on(entry.get("on"))})
    if len(out) > NOTIFY_MAX:
        raise InvalidInput(f"{len(out)} webhooks, over the limit of {NOTIFY_MAX} a schedule")
    return out


def _check_on(on: object) -> list[str]:
    if on is None:
        return ["failure"]
    if isinstance(on, str) and on in NOTIFY_ON:
        return list(NOTIFY_ON[on])
    if isinstance(on, (list, tuple)) and on and set(on) <= {"failure", "success"} \
            and len(set(on)) == len(on):
        return [w for w in ("failure", "success") if w in on]
    raise InvalidInput(f"a webhook's 'on' is [\"failure\"], [\"success\"] or [\"failure\", "
                       f"\"success\"] (failure, success or both), got {on!r}")


def check_url(url: object, allow_private: bool = False) -> str:
    """A webhook URL, checked by :func:`jupyter_mlws.schedules.webhooks.check_webhook_url` (http(s)
    only, no link-local or metadata address, private ones only if ``allow_private``)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("a webhook URL is an http(s) URL, e.g. https://hooks.example.com/mlws")
    return check_webhook_url(url.strip(), allow_private=allow_private)
