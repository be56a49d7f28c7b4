"""Documented limits of what a run accepts, checked in one place.

- metric and param keys: 1 to 250 characters, no NUL or newline
- steps: integers from -2**63 to 2**63 - 1 (a 64-bit signed integer)
- timestamps: integer milliseconds since the epoch, from 0 (1970) to
  253402300799999 (the end of year 9999)
- metric values: any double, NaN, +Inf, -Inf and -0.0 included, stored exactly
- param and tag values: up to 6,000 (params) and 5,000 (tags) characters once turned into
  text: strings as themselves, other values as JSON (``null``, ``true``, ``1.0``, ``[1]``;
  see :func:`param_json`)
- a run's description: up to 20,000 characters
- text of any kind (names, keys, values, descriptions): valid Unicode that UTF-8 can hold
  (a lone surrogate such as ``"\\ud800"`` is refused)
- parameters per submission and params or tags per call: at most 1,000
- model versions: 1 to 2**53
- JSON input (every REST body, parameter files): at most 8 MiB, nested at most 32 levels
  deep, at most 100,000 values in all (a batch of metric points over HTTP has its own bounds:
  ``jupyter_mlws.run_writes``)
- a logged list or table (as JSON) and a logged image: at most 16 MiB
- time windows of reports (an endpoint's metrics): more than 0 seconds, at most 30 days
"""

from __future__ import annotations

import json
import math
import numbers
from array import array
from typing import Iterable, Sequence

from .errors import InvalidInput

KEY_MAX = 250
STEP_MIN, STEP_MAX = -(2**63), 2**63 - 1
TS_MIN, TS_MAX = 0, 253402300799999
PARAM_VALUE_MAX = 6000
TAG_VALUE_MAX = 5000
#: the longest description of a run, in characters
DESCRIPTION_MAX = 20_000
#: the highest model version number (the largest integer a double holds exactly)
VERSION_MAX = 2**53
#: parameters of one submission, and params or tags of one call
PARAMS_MAX = TAGS_MAX = 1000
#: the largest JSON input (a REST body), in bytes
JSON_MAX_BYTES = 8 << 20
#: how deep arrays and objects may nest in JSON input (the top level is depth 1)
JSON_MAX_DEPTH = 32
#: how many values (containers, keys' values and items, all levels) JSON input may hold
JSON_MAX_ITEMS = 100_000
#: the longest time window a report looks back over, in seconds (30 days)
WINDOW_MAX_S = 30 * 86400
#: the largest logged list or table (as JSON) and logged image, in bytes: larger is a file
VALUE_MAX_BYTES = 16 * 1024 * 1024
#: the kinds of value ``log_list`` / ``log_table`` record
VALUE_KINDS = ("list", "table")


def check_text(value: object, what: str) -> str:
    """``value`` when it is a string UTF-8 can hold, else InvalidInput naming ``what``.

    Python strings may hold lone surrogates (``"\\ud800"``, from a JSON escape or from
    undecodable bytes in a command line), which no UTF-8 store or file can hold.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} holds {value[exc.start:exc.end]!r} at character {exc.start}, which is not a "
            "Unicode character (a lone surrogate): send valid UTF-8 text") from None
    return value


def check_description(value: object) -> str:
    """A run's description: text (:func:`check_text`) of at most :data:`DESCRIPTION_MAX`
    characters, else InvalidInput."""
    text = check_text(value, "the description")
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"the description is {len(text)} characters long, over the "
                           f"{DESCRIPTION_MAX} limit: keep longer notes in a file artifact")
    return text


def check_count(count: int, limit: int, what: str) -> None:
    """InvalidInput when ``count`` of ``what`` is over ``limit``."""
    if count > limit:
        raise InvalidInput(f"{count} {what} in one call, over the limit of {limit}: "
                           "send them in several calls, or save them to a file")


def check_json(value: object, what: str = "the input", max_depth: int = JSON_MAX_DEPTH,
               max_items: int = JSON_MAX_ITEMS) -> object:
    """``value`` when it is JSON data inside the bounds: nested at most ``max_depth`` levels,
    at most ``max_items`` values in all, every string and key valid text.  InvalidInput
    names the first place that is not (``what.key[3]``)."""
    count = 0
    stack = [(value, 1, what)]
    while stack:
        node, depth, where = stack.pop()
        if depth > max_depth:
            raise InvalidInput(f"{what} is nested deeper than {max_depth} levels (at {where}): "
                               "send flatter data")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            count += 1
            if isinstance(key, str):
                check_text(key, f"a key in {where}")
                path = f"{where}.{key}"
            else:
                path = f"{where}[{key}]"
            if isinstance(item, str):
                check_text(item, path)
            elif isinstance(item, (dict, list, tuple)):
                stack.append((item, depth + 1, path))
        if count > max_items:
            raise InvalidInput(f"{what} holds more than {max_items} values: send less per call")
    return value


_scan = json.JSONDecoder().scan_once


def _loads(raw: bytes | str) -> object:
    """``json.loads(raw)``, the common case faster: bytes that start with ``{`` or ``[`` (so
    UTF-8, as json.loads would detect) holding one value with nothing after it are scanned
    without json.loads' encoding detection and whitespace regexes.  Anything else, failures
    included, goes to json.loads (which raises its own errors)."""
    if type(raw) is bytes and len(raw) > 1 and raw[0] in b"{[" and raw[1]:
        try:
            text = raw.decode("utf-8", "surrogatepass")
            data, end = _scan(text, 0)
        except Exception:
            return json.loads(raw)
        if end == len(text):
            return data
    return json.loads(raw)


def load_json(raw: bytes | str, what: str = "the request body", max_bytes: int = JSON_MAX_BYTES,
              max_depth: int | None = JSON_MAX_DEPTH, max_items: int = JSON_MAX_ITEMS) -> object:
    """Parse JSON input inside the documented bounds (see :func:`check_json`); any breach,
    and JSON that does not parse, is InvalidInput.  ``max_depth=None`` checks only what the
    parser itself can take (a hot path that walks nothing)."""
    if len(raw) > max_bytes:
        raise InvalidInput(f"{what} is {len(raw)} bytes, over the limit of {max_bytes}: "
                           "send less per request")
    try:
        data = _loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text: send JSON encoded as UTF-8") from None
    except ValueError as exc:
        raise InvalidInput(f"{what} is not valid JSON ({exc})") from None
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply to read: send flatter data") from None
    if max_depth is not None and isinstance(data, (dict, list)):
        check_json(data, what.removeprefix("the "), max_depth, max_items)
    return data


def check_key(key: object, what: str = "metric") -> str:
    """A valid key, or InvalidInput saying why not."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"a {what} name must be a non-empty string, got {key!r}")
    check_text(key, f"{what} name")
    if len(key) > KEY_MAX:
        raise InvalidInput(f"{what} name {key[:40]!r}... is longer than {KEY_MAX} characters")
    if "\0" in key or "\n" in key or "\r" in key:
        raise InvalidInput(f"{what} name {key!r} contains a NUL or newline: use a plain name")
    return key


def check_value(key: str, value: object) -> float:
    """The metric value as a float (bools and numpy scalars included)."""
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        return float(value)  # numpy 0-d arrays, Decimal
    except (TypeError, ValueError):
        raise InvalidInput(
            f"metric {key!r} needs a number, got {type(value).__name__} {value!r:.60}: "
            "use log_list, log_table or a tag for other values"
        ) from None


def check_step(key: str, step: object) -> int:
    """The step as an int inside the 64-bit range."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        else:
            raise InvalidInput(f"metric {key!r}: step must be an integer, got {step!r}")
    step = int(step)
    if not STEP_MIN <= step <= STEP_MAX:
        raise InvalidInput(
            f"metric {key!r}: step {step} is outside the 64-bit range [{STEP_MIN}, {STEP_MAX}]"
        )
    return step


def check_timestamp(key: str, ts: object) -> int:
    """A timestamp in integer milliseconds inside the documented range."""
    if isinstance(ts, bool) or not isinstance(ts, numbers.Real) or not math.isfinite(ts):
        raise InvalidInput(f"metric {key!r}: timestamp must be a number of ms, got {ts!r}")
    ts = int(ts)
    if not TS_MIN <= ts <= TS_MAX:
        raise InvalidInput(
            f"metric {key!r}: timestamp {ts} ms is outside [{TS_MIN}, {TS_MAX}] "
            "(milliseconds since 1970, up to the year 9999)"
        )
    return ts


def param_json(value: object) -> str:
    """A param value's canonical text, whichever face records it (the one rule).

    A string is stored as itself.  Any other value is stored as JSON: ``None`` as
    ``null``, ``True`` as ``true``, ``1.0`` as ``1.0`` (a float keeps its point),
    ``(1, 2)`` as ``[1, 2]``, ``{"a": 1}``; NaN and infinities as ``NaN``,
    ``Infinity`` and ``-Infinity`` (as Python's ``json`` writes them).  numpy scalars
    and arrays count as the Python values they hold.  Inside a list or dict, a value
    JSON cannot hold becomes its ``str()``; any other object is stored as its
    ``str()``, as a string would be.  Non-ASCII text is kept as it is.
    """
    if isinstance(value, str):
        return value
    if _is_numpy(value):
        value = value.tolist()
    if value is None or isinstance(value, (bool, int, float, list, tuple, dict)):
        try:
            return json.dumps(value, ensure_ascii=False, default=_plain)
        except (TypeError, ValueError, RecursionError):  # keys JSON cannot hold, cycles
            pass
    return str(value)


def _is_numpy(obj: object) -> bool:
    """Whether ``obj`` is a numpy scalar or array (or alike), without importing numpy."""
    return not isinstance(obj, type) and callable(getattr(obj, "tolist", None))


def _plain(obj: object) -> object:
    """What JSON holds for an object inside a list or dict it cannot hold itself."""
    return obj.tolist() if _is_numpy(obj) else str(obj)


def param_text(key: str, value: object) -> tuple[str, float | None]:
    """A param value as stored: its canonical text (:func:`param_json`) and its number
    when it is one (``100``, ``0.1``, the string ``"1e-3"``), so that filters compare
    numbers.  InvalidInput when the text is over :data:`PARAM_VALUE_MAX` characters or
    is not valid Unicode."""
    text = param_json(value)
    check_text(text, f"param {key!r}")
    if len(text) > PARAM_VALUE_MAX:
        raise InvalidInput(
            f"param {key!r} is {len(text)} characters long, over the {PARAM_VALUE_MAX} limit: "
            "upload it as a file with run.upload_file instead"
        )
    return text, _number(value, text)


def _number(value: object, text: str) -> float | None:
    """The numeric reading of a param (``100``, ``0.1``, ``"1e-3"``), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        num = float(value if isinstance(value, (int, float)) else text)
    except (TypeError, ValueError, OverflowError):
        return None
    return num if math.isfinite(num) else None


def tag_text(key: str, value: object) -> str:
    """A tag value as stored text, encoded as params are (:func:`param_json`: a string as
    itself, anything else as JSON: ``[1]``, ``true``, ``null``); InvalidInput when it is over
    :data:`TAG_VALUE_MAX` characters or is not valid Unicode."""
    text = check_text(param_json(value), f"tag {key!r}")
    if len(text) > TAG_VALUE_MAX:
        raise InvalidInput(f"tag {key!r} is longer than {TAG_VALUE_MAX} characters")
    return text


def check_values(key: str, values: Iterable) -> Sequence[float]:
    """Many metric values as a packed array of doubles, converted in C.

    A non-number is a clear error naming the value.
    """
    try:
        return array("d", values)
    except TypeError:
        values = list(values) if not isinstance(values, Sequence) else values
        return array("d", [check_value(key, v) for v in values])


def check_steps(key: str, steps: Iterable, count: int) -> Sequence[int]:
    """Many steps: ints inside the 64-bit range, one per value."""
    if isinstance(steps, range):
        if len(steps) and not (STEP_MIN <= min(steps[0], steps[-1]) and max(steps[0], steps[-1]) <= STEP_MAX):
            raise InvalidInput(f"metric {key!r}: steps go outside the 64-bit range")
        checked: Sequence[int] = steps
    else:
        try:
            checked = array("q", steps)
        except (TypeError, OverflowError):
            checked = [check_step(key, s) for s in steps]
    _same_length(key, "steps", len(checked), count)
    return checked


def check_timestamps(key: str, stamps: Iterable, count: int) -> Sequence[int]:
    """Many timestamps in ms inside the documented range, one per value."""
    try:
        checked = array("q", (int(t) if type(t) is float else t for t in stamps))
    except (TypeError, OverflowError, ValueError):
        checked = [check_timestamp(key, t) for t in stamps]
    if checked and not (TS_MIN <= min(checked) and max(checked) <= TS_MAX):
        bad = next(t for t in checked if not TS_MIN <= t <= TS_MAX)
        check_timestamp(key, bad)
    _same_length(key, "timestamps", len(checked), count)
    return checked


def _same_length(key: str, what: str, got: int, count: int) -> None:
    if got != count:
        raise InvalidInput(f"metric {key!r}: {got} {what} for {count} values; give one per value")


def check_window(since: object, what: str = "since") -> float:
    """``since`` (seconds back from now) when it is a number more than 0 and at most
    ``WINDOW_MAX_S``; else InvalidInput.  Every face gets the same cap."""
    ok = isinstance(since, numbers.Real) and not isinstance(since, bool) and 0 < since <= WINDOW_MAX_S
    if not ok:  # NaN fails the comparison too
        raise InvalidInput(f"{what} must be a number of seconds from 1 to {WINDOW_MAX_S}, got {since!r}")
    return since


def check_points(points: object, what: str = "metrics") -> list[tuple]:
    """Metric points ``[key, value, step, timestamp]`` from outside (a REST batch) as the
    ``(key, value, step, ts)`` tuples a run's buffer holds, each checked exactly as
    ``run.log`` checks it (same functions, same messages, prefixed with the point's place)."""
    if not isinstance(points, list):
        raise InvalidInput(f"{what} must be an array of [key, value, step, timestamp] points, "
                           f"got {type(points).__name__}")
    out: list[tuple] = []
    keys: set[str] = set()
    i = 0
    try:
        for i, point in enumerate(points):  # the common case costs a few type tests a point
            if type(point) is not list or len(point) != 4:
                raise InvalidInput("a point is [key, value, step, timestamp (ms)], e.g. "
                                   '["loss", 0.25, 3, 1700000000000]')
            key, value, step, ts = point
            if type(key) is not str or key not in keys:
                keys.add(check_key(key))
            if type(value) is not float:
                value = check_value(key, value)
            if type(step) is not int or not STEP_MIN <= step <= STEP_MAX:
                step = check_step(key, step)
            if type(ts) is not int or not TS_MIN <= ts <= TS_MAX:
                ts = check_timestamp(key, ts)
            out.append((key, value, step, ts))
    except InvalidInput as exc:
        raise InvalidInput(f"{what}[{i}]: {exc}") from None
    return out


def check_logged_value(key: object, kind: str, value: object) -> str:
    """The stored text (JSON, NaN allowed) of a list or table logged as ``key``: a list for
    ``"list"``; for ``"table"`` a mapping of column name to a list, every column as long.
    InvalidInput for a bad key or kind, another shape, or text over :data:`VALUE_MAX_BYTES`."""
    if kind not in VALUE_KINDS:
        raise InvalidInput(f"unknown kind of value {kind!r}: use one of {', '.join(VALUE_KINDS)}")
    check_key(key, kind)
    if kind == "list" and not isinstance(value, list):
        raise InvalidInput(f"list {key!r} must be an array of values, got {type(value).__name__}")
    if kind == "table":
        if not isinstance(value, dict) or not all(isinstance(c, list) for c in value.values()):
            raise InvalidInput(f"table {key!r} must map each column's name to a list of values")
        lengths = {len(c) for c in value.values()}
        if len(lengths) > 1:
            raise InvalidInput(f"table {key!r}: columns have different lengths {sorted(lengths)}")
    try:
        data = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"{kind} {key!r} cannot be stored as JSON ({exc})") from None
    check_value_size(key, kind, len(data))
    return data


def check_value_size(key: object, kind: str, size: int) -> None:
    """InvalidInput when a logged value of ``size`` bytes is over :data:`VALUE_MAX_BYTES`."""
    if size > VALUE_MAX_BYTES:
        raise InvalidInput(f"{kind} {key!r} is over {VALUE_MAX_BYTES >> 20} MB: upload it as a file")


def check_upload_size(name: str, size: int, max_bytes: int) -> None:
    """InvalidInput when a file of ``size`` bytes is over a workspace's upload limit."""
    if size > max_bytes:
        raise InvalidInput(
            f"{name!r} is {size:,} bytes, over the workspace's limit of {max_bytes:,} bytes per "
            "file (upload_max_mb in its mlws.toml): split it, or raise the limit")
