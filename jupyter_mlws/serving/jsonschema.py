"""A small JSON-Schema subset for scoring scripts' ``input_schema`` / ``output_schema``.

Supported: ``type`` (a name or a list of names), ``properties``, ``required``,
``additionalProperties: false``, ``items``, ``enum``, ``minItems``/``maxItems``,
``minimum``/``maximum``.  Anything else is ignored (documentation only).
"""

from __future__ import annotations

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
    if isinstance(schema.get("items"), dict):
        check_schema(schema["items"], f"{where}.items")


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
        if "minimum" in schema and value < schema["minimum"]:
            return f"{path} must be >= {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{path} must be <= {schema['maximum']}"
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                return f"{path} lacks the required property {key!r}"
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in value:
                err = validate(value[key], sub, f"{path}.{key}")
                if err:
                    return err
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                return f"{path} has unexpected properties {extra!r}"
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


def _name(value: object) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[kind](value):
            return kind
    return type(value).__name__
