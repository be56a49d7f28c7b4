"""A small JSON-Schema subset: scoring scripts' ``input_schema`` / ``output_schema``, REST bodies.

Supported: ``type`` (a name or a list of names), ``properties``, ``required``,
``additionalProperties`` (false, or a schema for the other properties), ``minProperties``/
``maxProperties``,
``items``, ``prefixItems`` (the first items' schemas, by position: JSON Schema 2020-12,
section 10.3.1.1; a mismatch names the position's ``title``, if it has one), ``enum``,
``minItems``/``maxItems``, ``minLength``/``maxLength``,
``minimum``/``maximum``/``exclusiveMinimum`` (NaN and infinities fail any bound).
Anything else is ignored (documentation only).  The REST API validates its request
bodies against its OpenAPI document with the same function.
"""

from __future__ import annotations

import math

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def check_schema(schema: object, where: str) -> None:
    """Raise ValueError if ``schema`` is not a usable schema dict."""
    if not isinstance(schema, dict):
        raise ValueError(f"{where} must be a dict (a JSON Schema), not {type(schema).__name__}")
    kinds = schema.get("type")
    for kind in ([kinds] if isinstance(kinds, str) else kinds or []):
        if kind not in _TYPES:
            raise ValueError(f"{where}: unknown type {kind!r} (use one of {', '.join(_TYPES)})")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{where}.properties.{name}")
    for part in ("items", "additionalProperties"):
        if isinstance(schema.get(part), dict):
            check_schema(schema[part], f"{where}.{part}")
    for i, sub in enumerate(schema.get("prefixItems") or []):
        check_schema(sub, f"{where}.prefixItems[{i}]")


def validate(value: object, schema: dict, path: str = "$") -> str | None:
    """The first mismatch of ``value`` against ``schema`` as a message, None when it fits."""
    err = _check(value, schema)
    if err is None:
        return None
    steps, message = err
    return path + "".join(reversed(steps)) + message


# _check and its helpers return None, or the mismatch as (steps, message): ``message`` follows
# the mismatched value's path, whose steps (".key", "[3]") are collected innermost first on the
# way out, so that a value that fits builds no path at all.

def _check(value: object, schema: dict):
    kinds = schema.get("type")
    if kinds is not None:
        if isinstance(kinds, str):
            fits = kinds in _TYPES and _TYPES[kinds](value)
            names = [kinds]
        else:
            names = list(kinds)
            fits = False
            for k in names:
                if k in _TYPES and _TYPES[k](value):
                    fits = True
                    break
        if not fits:
            return [], f" must be {' or '.join(names)}, got {_name(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return [], f" must be one of {schema['enum']!r}"
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return [], f" needs at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return [], f" takes at most {schema['maxItems']} items"
        prefix = schema.get("prefixItems") or []
        for i, (item, sub) in enumerate(zip(value, prefix)):
            err = _check(item, sub)
            if err is not None:  # a row's value by position: its name says which
                err[0].append(f"[{i}]" + (f" ({sub['title']})" if sub.get("title") else ""))
                return err
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value[len(prefix):], len(prefix)):
                err = _check(item, items)
                if err is not None:
                    err[0].append(f"[{i}]")
                    return err
        return None
    if isinstance(value, dict):
        return _object(value, schema)
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return [], f" needs at least {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [], f" takes at most {schema['maxLength']} characters, got {len(value)}"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return _bounds(value, schema)
    return None


def _bounds(value: float, schema: dict):
    finite = not isinstance(value, float) or math.isfinite(value)
    if "minimum" in schema and not (finite and value >= schema["minimum"]):
        return [], f" must be >= {schema['minimum']}, got {value!r}"
    if "exclusiveMinimum" in schema and not (finite and value > schema["exclusiveMinimum"]):
        return [], f" must be > {schema['exclusiveMinimum']}, got {value!r}"
    if "maximum" in schema and not (finite and value <= schema["maximum"]):
        return [], f" must be <= {schema['maximum']}, got {value!r}"
    return None


def _object(value: dict, schema: dict):
    for key in schema.get("required", ()):
        if key not in value:
            return [], f" lacks the required property {key!r}"
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        return [], f" needs at least {schema['minProperties']} properties"
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        return [], f" takes at most {schema['maxProperties']} properties, got {len(value)}"
    props = schema.get("properties") or {}
    for key, sub in props.items():
        if key in value:
            err = _check(value[key], sub)
            if err is not None:
                err[0].append(f".{key}")
                return err
    others = schema.get("additionalProperties")
    if others is False or isinstance(others, dict):
        extra = [k for k in value if k not in props]
        if others is False and extra:
            return [], f" has unexpected properties {sorted(extra)!r}"
        if isinstance(others, dict):
            for key in extra:
                err = _check(value[key], others)
                if err is not None:
                    err[0].append(f".{key}")
                    return err
    return None


def _name(value: object) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[kind](value):
            return kind
    return type(value).__name__


def example_of(schema: object) -> object:
    """A small value ``schema`` accepts, to start a request from: an object with its required
    properties (all of them when none is required), ``minItems`` items (at least one) of an
    array, the first ``enum`` value, the ``minimum`` of a number (else 0), ``""``, ``False``.
    An unusable schema gives ``{}``."""
    if not isinstance(schema, dict):
        return {}
    if schema.get("enum"):
        return schema["enum"][0]
    kinds = schema.get("type")
    kind = kinds if isinstance(kinds, str) else next(iter(kinds or []), None)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    if kind == "object":
        props = schema.get("properties") or {}
        names = [k for k in schema.get("required", ()) if k in props] or list(props)
        return {name: example_of(props[name]) for name in names}
    if kind == "array":
        return [example_of(schema.get("items")) for _ in range(max(1, int(schema.get("minItems", 1))))]
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return low + (1 if "minimum" not in schema else 0) if isinstance(low, (int, float)) else 0
    return {"string": "", "boolean": False, "null": None}.get(kind, {})
