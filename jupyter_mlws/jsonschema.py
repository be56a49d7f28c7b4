"""A small JSON-Schema subset: scoring scripts' ``input_schema`` / ``output_schema``, REST bodies.

Supported: ``type`` (a name or a list of names), ``properties``, ``required``,
``additionalProperties`` (false, or a schema for the other properties), ``minProperties``/
``maxProperties``,
``items``, ``enum``, ``minItems``/``maxItems``, ``minLength``/``maxLength``,
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


def validate(value: object, schema: dict, path: str = "$") -> str | None:
    """The first mismatch of ``value`` against ``schema`` as a message, None when it fits."""
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_TYPES[k](value) for k in names if k in _TYPES):
            return f"{path} must be {' or '.join(names)}, got {_name(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path} must be one of {schema['enum']!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        err = _bounds(value, schema, path)
        if err:
            return err
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{path} needs at least {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path} takes at most {schema['maxLength']} characters, got {len(value)}"
    if isinstance(value, dict):
        return _object(value, schema, path)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"{path} needs at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{path} takes at most {schema['maxItems']} items"
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                err = validate(item, items, f"{path}[{i}]")
                if err:
                    return err
    return None


def _bounds(value: float, schema: dict, path: str) -> str | None:
    finite = not isinstance(value, float) or math.isfinite(value)
    if "minimum" in schema and not (finite and value >= schema["minimum"]):
        return f"{path} must be >= {schema['minimum']}, got {value!r}"
    if "exclusiveMinimum" in schema and not (finite and value > schema["exclusiveMinimum"]):
        return f"{path} must be > {schema['exclusiveMinimum']}, got {value!r}"
    if "maximum" in schema and not (finite and value <= schema["maximum"]):
        return f"{path} must be <= {schema['maximum']}, got {value!r}"
    return None


def _object(value: dict, schema: dict, path: str) -> str | None:
    for key in schema.get("required", ()):
        if key not in value:
            return f"{path} lacks the required property {key!r}"
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        return f"{path} needs at least {schema['minProperties']} properties"
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        return f"{path} takes at most {schema['maxProperties']} properties, got {len(value)}"
    props = schema.get("properties") or {}
    for key, sub in props.items():
        if key in value:
            err = validate(value[key], sub, f"{path}.{key}")
            if err:
                return err
    others = schema.get("additionalProperties")
    extra = [k for k in value if k not in props]
    if others is False and extra:
        return f"{path} has unexpected properties {sorted(extra)!r}"
    if isinstance(others, dict):
        for key in extra:
            err = validate(value[key], others, f"{path}.{key}")
            if err:
                return err
    return None


def _name(value: object) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[kind](value):
            return kind
    return type(value).__name__
