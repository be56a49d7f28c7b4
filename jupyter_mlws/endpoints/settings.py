"""An endpoint's settings: their defaults, and the check every new value passes.

The settings are stored with the endpoint as JSON; the supervisor hands them to its workers
in the deployment spec.  A setting added later reads as its default on endpoints stored
before it existed.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..errors import InvalidInput

#: per-endpoint settings and their defaults
DEFAULT_SETTINGS: dict[str, Any] = {
    "request_timeout": 30.0,      # seconds a run() call may take before the caller gets 504
    "stuck_grace": 10.0,          # after timeout + grace a worker still in run() is replaced
    "max_body_bytes": 10 * 1024 * 1024,
    "max_inflight": 64,           # requests per worker beyond which it answers 503 + Retry-After
    "threads": 0,                 # 0: run() on the worker's event loop; N: a pool of N threads
    "monitoring": True,           # request statistics recorded in the workspace
    "sample_rate": 0.0,           # fraction of requests whose payloads are stored
    "sample_max_bytes": 65536,    # payloads are cut to this size when sampled
    "flush_interval": 2.0,        # seconds between statistics batches
    "keep_alive": 5,
    "header_timeout": 30.0,       # seconds a connection may take to send a request head, else closed
    "body_timeout": 60.0,         # seconds a request's body may take after its head, else closed
    "max_connections": 500,       # open connections per worker; one more is answered 503 and closed
}


def stored(text: str | None) -> dict:
    """The settings stored as JSON ``text``, defaults filling in what it does not name."""
    return {**DEFAULT_SETTINGS, **json.loads(text or "{}")}


def check_settings(given: Mapping[str, Any]) -> dict:
    """Every setting, ``given`` ones checked and converted; InvalidInput names a bad one."""
    unknown = sorted(set(given) - set(DEFAULT_SETTINGS))
    if unknown:
        raise InvalidInput(f"unknown endpoint setting(s) {', '.join(unknown)}: use "
                           f"{', '.join(DEFAULT_SETTINGS)}")
    out = dict(DEFAULT_SETTINGS)
    for key, value in given.items():
        if value is None:
            continue
        kind = type(DEFAULT_SETTINGS[key])
        if kind is bool:
            out[key] = _flag(key, value)
            continue
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"setting {key} must be a number, got {value!r}") from None
        if key == "sample_rate":
            if not 0 <= value <= 1:
                raise InvalidInput(f"sample_rate must be between 0 and 1, got {value}")
        elif key == "threads":
            if value < 0:
                raise InvalidInput(f"threads must be 0 (run() on the event loop) or more, got {value}")
        elif value <= 0:
            raise InvalidInput(f"setting {key} must be positive, got {value}")
        out[key] = value
    return out


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise InvalidInput(f"setting {key} must be true or false, got {value!r}")
