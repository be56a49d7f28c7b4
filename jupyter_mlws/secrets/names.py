"""The rules a secret's name, its value and a run's ``--secret NAME[=ENVVAR]`` follow, in one place.

- a name: 1 to 127 characters, letters, digits, ``_`` and ``-``, starting with a letter
  (Azure Key Vault's rule, with ``_`` added so that a name can be its own environment variable);
- a value: text of 4 characters to 64 KiB (as UTF-8), no NUL (an environment variable cannot
  hold one).  Shorter values are refused: masking them in outputs would mask ordinary text;
- a binding ``NAME[=ENVVAR]`` injects the secret as the environment variable ENVVAR (default:
  the name, ``-`` turned into ``_``).  ENVVAR is an identifier; ``MLWS_*`` (the workspace's own)
  and the variables that decide which program or library runs (``PATH``, ``LD_PRELOAD``, ...)
  are refused.  At most :data:`BINDINGS_MAX` secrets a run.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from ..errors import InvalidInput
from ..limits import check_text

NAME_MAX = 127
#: the largest value, in bytes of UTF-8
VALUE_MAX_BYTES = 64 << 10
#: the shortest value, in characters
VALUE_MIN_CHARS = 4
#: secrets one run may be given
BINDINGS_MAX = 100
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,%d}" % (NAME_MAX - 1))
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
#: environment variables a secret may not replace: they decide what runs, or are the workspace's
RESERVED_ENV = frozenset({"PATH", "HOME", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                          "LD_PRELOAD", "LD_LIBRARY_PATH", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR"})


def check_name(name: object) -> str:
    """A valid secret name, else InvalidInput saying the rule."""
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    shown = repr(name[:40]) + "..." if isinstance(name, str) and len(name) > 40 else repr(name)
    raise InvalidInput(f"invalid secret name {shown}: use 1 to {NAME_MAX} letters, digits, '_' "
                       "or '-', starting with a letter (e.g. db-password)")


def check_value(value: object) -> str:
    """A value the vault takes, else InvalidInput that never quotes the value."""
    if not isinstance(value, str):
        raise InvalidInput(f"a secret's value must be text, got {type(value).__name__}")
    check_text(value, "the secret's value")  # names a lone surrogate only, never the value
    if "\0" in value:
        raise InvalidInput("the secret's value holds a NUL character, which an environment "
                           "variable cannot carry: encode it (e.g. base64) first")
    if len(value) < VALUE_MIN_CHARS:
        raise InvalidInput(f"the secret's value is shorter than {VALUE_MIN_CHARS} characters: "
                           "so short a value could not be masked in outputs without masking "
                           "ordinary text")
    size = len(value.encode("utf-8"))
    if size > VALUE_MAX_BYTES:
        raise InvalidInput(f"the secret's value is {size} bytes, over the limit of "
                           f"{VALUE_MAX_BYTES}: store a file's key or path instead of the file")
    return value


def default_env(name: str) -> str:
    """The environment variable a secret is injected as when none is given."""
    return name.replace("-", "_")


def check_env(env: object) -> str:
    """A valid, unreserved environment variable name, else InvalidInput."""
    if not isinstance(env, str) or not _ENV.fullmatch(env):
        raise InvalidInput(f"invalid environment variable name {env!r}: use letters, digits and "
                           "'_', not starting with a digit")
    if env.upper().startswith("MLWS_") or env.upper() in RESERVED_ENV:
        raise InvalidInput(f"a secret cannot be injected as {env}: that variable is the "
                           "workspace's own or decides which program runs; choose another name "
                           "with NAME=ENVVAR")
    return env


def parse_bindings(specs: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["db-password", "TOKEN=API_TOKEN"]`` (``NAME[=ENVVAR]``) as ``{ENVVAR: NAME}``.

    A mapping is taken as ``{ENVVAR: NAME}`` already.  InvalidInput for a bad name, a bad or
    reserved variable, one variable given twice, or more than :data:`BINDINGS_MAX` secrets.
    """
    if specs is None:
        return {}
    if isinstance(specs, str):
        specs = [specs]
    pairs = list(specs.items()) if isinstance(specs, Mapping) else [_split(s) for s in specs]
    if len(pairs) > BINDINGS_MAX:
        raise InvalidInput(f"{len(pairs)} secrets for one run, over the limit of {BINDINGS_MAX}")
    out: dict[str, str] = {}
    for env, name in pairs:
        name = check_name(name)
        env = check_env(env)
        if env in out and out[env] != name:
            raise InvalidInput(f"two secrets ({out[env]}, {name}) would both be injected as {env}: "
                               "give one of them another variable with NAME=ENVVAR")
        out[env] = name
    return out


def _split(spec: object) -> tuple[str, str]:
    if not isinstance(spec, str):
        raise InvalidInput(f"a secret to inject is 'NAME' or 'NAME=ENVVAR', got {spec!r}")
    name, sep, env = spec.partition("=")
    return (env if sep else default_env(name)), name
