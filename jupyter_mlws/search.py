"""The run search language: a filter string and order_by entries compiled to SQL.

A filter reads like ``metrics.acc > 0.9 and params.model = 'rf' and tags.team = 'a'``::

    expr       := term (OR term)*
    term       := factor (AND factor)*
    factor     := NOT factor | '(' expr ')' | comparison
    comparison := field op value | field [NOT] IN '(' value, ... ')'
                | field IS [NOT] NULL
    op         := = == != <> < <= > >= [NOT] LIKE [NOT] ILIKE
    field      := metrics.<key> | params.<key> | tags.<key> | [attributes. | run.]<attribute>
    value      := number | 'string' | "string" | true | false

Keywords are case-insensitive.  A key is a bare name that may hold dots and
dashes (``metrics.val.loss``, ``metrics.f1-score``) or is quoted with backticks
or double quotes (``params."learning rate"``).  Strings escape their quote by
doubling it or with a backslash; in LIKE patterns ``\\`` escapes ``%`` and ``_``.

Semantics:

* metrics compare their latest value as a number; NaN (stored as NULL) never matches.
* params compare as numbers when the value is a number (a param that is not
  numeric then does not match), as text when it is a string.
* tags and text attributes compare as text; ``start_time``, ``end_time`` and
  ``duration`` (milliseconds) as numbers.  ``compute`` is the compute target the run was
  handed to (``local`` when none was recorded).  ``true``/``false`` match the text
  ``true``/``false`` in any case (1 and 0 for metrics).
* a run lacking the key matches no comparison, not even ``!=`` or ``NOT IN``;
  only ``IS NULL`` matches it.  ``NOT`` is plain negation, so
  ``NOT params.model = 'rf'`` does match a run without ``params.model``.
* ILIKE is ``lower(x) LIKE lower(pattern)``.  LIKE itself follows the
  database: case-sensitive on PostgreSQL, ASCII case-insensitive on SQLite
  unless ``PRAGMA case_sensitive_like`` is on.

Order-by entries are ``<field> [ASC|DESC]`` (default ``start_time DESC``), or
``min(metrics.<key>) [ASC|DESC]`` / ``max(metrics.<key>) ...`` to sort by the smallest
or largest value a metric ever had in the run (not only its latest).
Runs lacking the key (or with a NaN metric) sort last in both directions;
params sort numeric values first (as numbers), then the rest as text.  The
run's ``pk`` is always the final tiebreaker, so paging is stable.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field as dc_field
from typing import Iterable, Union

from .errors import InvalidInput

#: attributes a filter can name without a prefix, with their value type
ATTRIBUTES: dict[str, str] = {
    "status": "text",
    "name": "text",
    "id": "text",
    "start_time": "number",
    "end_time": "number",
    "duration": "number",
    "experiment": "text",
    "source_type": "text",
    "source_name": "text",
    "user": "text",
    "git_commit": "text",
    "parent_id": "text",
    "description": "text",
    "compute": "text",
}
_ATTRIBUTE_ALIASES = {"run_id": "id", "run_name": "name", "user_name": "user"}
_PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "run": "attribute",
}
_LIKES = ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE")
_KEYWORDS = ("and", "or", "not", "in", "is", "null", "like", "ilike", "true", "false", "asc", "desc")
#: what order_by may sort a metric by besides its latest value: ``min(metrics.loss)``
AGGREGATES = ("min", "max")


# --- the AST ------------------------------------------------------------------
# Positions (offsets into the source) are left out of equality so tests can
# compare trees written by hand.


@dataclass(frozen=True)
class Field:
    """A field: ``kind`` is "metric", "param", "tag" or "attribute"."""

    kind: str
    key: str
    pos: int = dc_field(default=0, compare=False)

    def __str__(self) -> str:
        return self.key if self.kind == "attribute" else f"{self.kind}s.{self.key}"


@dataclass(frozen=True)
class Value:
    """A literal: a number, a string, a bool, or None for ``null``."""

    value: Union[int, float, str, bool, None]
    pos: int = dc_field(default=0, compare=False)
    text: str = dc_field(default="", compare=False)


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``value`` is a tuple for IN, None for IS [NOT] NULL."""

    field: Field
    op: str
    value: Union[Value, tuple, None] = None


@dataclass(frozen=True)
class And:
    """All of ``items`` hold."""

    items: tuple


@dataclass(frozen=True)
class Or:
    """Any of ``items`` holds."""

    items: tuple


@dataclass(frozen=True)
class Not:
    """``item`` does not hold."""

    item: object


@dataclass(frozen=True)
class OrderKey:
    """One order_by entry; ``aggregate`` is "min" or "max" for ``min(metrics.<key>)``, else ""."""

    field: Field
    descending: bool = False
    aggregate: str = ""


Node = Union[Comparison, And, Or, Not]


# --- the tokenizer --------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # name, number, string, backtick, op, punct, end
    text: str
    pos: int

    @property
    def end(self) -> int:
        return self.pos + len(self.text)

    def is_kw(self, *words: str) -> bool:
        return self.kind == "name" and self.text.lower() in words


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<name>[^\W\d][\w.\-]*)
      | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
      | (?P<backtick>`(?:[^`]|``)*`)
      | (?P<op>==|!=|<>|<=|>=|=|<|>)
      | (?P<punct>[(),])""",
    re.VERBOSE | re.DOTALL,
)
_HINTS = {"&": "use AND", "|": "use OR", "!": "use NOT or !="}


def _unquote(text: str) -> str:
    quote, body = text[0], text[1:-1]
    if quote == "`":
        return body.replace("``", "`")

    def one(m: re.Match) -> str:
        s = m.group(0)
        if s == quote * 2:
            return quote
        return s[1] if s[1] in "\\'\"" else s

    return re.sub(r"\\.|" + quote * 2, one, body, flags=re.DOTALL)


# --- the parser -------------------------------------------------------------------


class _Parser:
    """A recursive-descent parser over one source string ("filter" or "order_by")."""

    def __init__(self, source: str, what: str):
        self.source, self.what = source, what
        self.tokens = self._tokenize()
        self.i = 0

    def error(self, message: str, pos: int, hint: str = "") -> InvalidInput:
        line = re.sub(r"\s", " ", self.source)
        text = f"invalid {self.what}: {message} at position {pos}\n  {line}\n  {' ' * pos}^"
        return InvalidInput(text + (f"\n{hint}" if hint else ""))

    def _tokenize(self) -> list[_Token]:
        tokens, pos, src = [], 0, self.source
        while pos < len(src):
            m = _TOKEN.match(src, pos)
            if m is None:
                ch = src[pos]
                if ch in "'\"`":
                    raise self.error("unterminated string", pos)
                raise self.error(f"unexpected character {ch!r}", pos, _HINTS.get(ch, ""))
            if m.lastgroup != "ws":
                tokens.append(_Token(m.lastgroup, m.group(), pos))
            pos = m.end()
        tokens.append(_Token("end", "", len(src)))
        return tokens

    # token helpers

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1 if tok.kind != "end" else 0
        return tok

    def accept_kw(self, *words: str) -> _Token | None:
        return self.next() if self.peek().is_kw(*words) else None

    def expect_end(self, message: str) -> None:
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"{message}, found {tok.text!r}", tok.pos)

    # the grammar

    def expr(self) -> Node:
        items = [self.term()]
        while self.accept_kw("or"):
            items.append(self.term())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def term(self) -> Node:
        items = [self.factor()]
        while self.accept_kw("and"):
            items.append(self.factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def factor(self) -> Node:
        tok = self.peek()
        if tok.is_kw("not"):
            self.next()
            return Not(self.factor())
        if tok.text == "(" and tok.kind == "punct":
            self.next()
            if self.peek().text == ")":
                raise self.error("empty parentheses", tok.pos)
            node = self.expr()
            close = self.next()
            if close.text != ")" or close.kind != "punct":
                raise self.error(
                    f"expected ')' to close the '(' at position {tok.pos}, found {_show(close)}",
                    close.pos,
                )
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        fld = self.field()
        tok = self.next()
        if tok.is_kw("is"):
            negated = self.accept_kw("not")
            null = self.next()
            if not null.is_kw("null"):
                raise self.error(f"expected NULL after {_show(tok)}, found {_show(null)}", null.pos)
            return Comparison(fld, "IS NOT NULL" if negated else "IS NULL")
        op = self.operator(tok, fld)
        if op.endswith("IN"):
            values = self.value_list(tok)
            for v in values:
                self.check(fld, op, v)
            return Comparison(fld, op, values)
        value = self.value(tok)
        self.check(fld, op, value)
        return Comparison(fld, op, value)

    def operator(self, tok: _Token, fld: Field) -> str:
        if tok.kind == "op":
            return {"==": "=", "<>": "!="}.get(tok.text, tok.text)
        if tok.is_kw("in", "like", "ilike"):
            return tok.text.upper()
        if tok.is_kw("not"):
            nxt = self.next()
            if nxt.is_kw("in", "like", "ilike"):
                return "NOT " + nxt.text.upper()
            raise self.error(f"expected IN, LIKE or ILIKE after NOT, found {_show(nxt)}", nxt.pos)
        raise self.error(
            f"expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS) after "
            f"'{self.source[fld.pos:tok.pos].strip()}', found {_show(tok)}",
            tok.pos,
        )

    def field(self) -> Field:
        tok = self.next()
        if tok.kind != "name" or tok.is_kw(*_KEYWORDS):
            raise self.error(
                f"expected a field (metrics.<key>, params.<key>, tags.<key> or an attribute), "
                f"found {_show(tok)}",
                tok.pos,
            )
        head, dot, key = tok.text.partition(".")
        if not dot:
            return self.attribute(head, tok.pos)
        kind = _PREFIXES.get(head.lower())
        if kind is None:
            close = difflib.get_close_matches(head.lower(), ["metrics", "params", "tags"], 1)
            hint = f"did you mean '{close[0]}.{key}'? " if close else ""
            raise self.error(
                f"unknown field prefix {head!r}", tok.pos,
                f"{hint}use metrics.<key>, params.<key>, tags.<key> or an attribute",
            )
        if not key:
            quoted = self.peek()
            if quoted.kind not in ("string", "backtick") or quoted.pos != tok.end:
                raise self.error(f"expected a key after {tok.text!r}", tok.end)
            key = _unquote(self.next().text)
        if kind == "attribute":
            return self.attribute(key, tok.pos)
        return Field(kind, key, tok.pos)

    def order_field(self) -> tuple[str, Field]:
        """An order_by field: ``field`` or ``min(metrics.<key>)`` / ``max(...)``."""
        tok = self.peek()
        after = self.tokens[self.i + 1] if tok.kind != "end" else tok
        if not (tok.is_kw(*AGGREGATES) and after.text == "(" and after.kind == "punct"):
            return "", self.field()
        self.i += 2
        fld = self.field()
        if fld.kind != "metric":
            raise self.error(f"{tok.text.lower()}() takes a metric, e.g. {tok.text.lower()}(metrics.loss)",
                             fld.pos)
        close = self.next()
        if close.text != ")" or close.kind != "punct":
            raise self.error(f"expected ')' after '{fld}', found {_show(close)}", close.pos)
        return tok.text.lower(), fld

    def attribute(self, name: str, pos: int) -> Field:
        key = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
        if key not in ATTRIBUTES:
            raise self.error(
                f"unknown attribute {name!r}", pos,
                f"valid attributes: {', '.join(ATTRIBUTES)}; metrics, params and tags "
                f"need a prefix, e.g. metrics.{name}",
            )
        return Field("attribute", key, pos)

    def value(self, after: _Token) -> Value:
        tok = self.next()
        if tok.kind == "number":
            # an integer SQLite's 64 bits cannot hold compares as the double it is close to
            is_int = re.fullmatch(r"[-+]?\d{1,18}", tok.text)
            return Value(int(tok.text) if is_int else float(tok.text), tok.pos, tok.text)
        if tok.kind == "string":
            return Value(_unquote(tok.text), tok.pos, tok.text)
        if tok.is_kw("true", "false", "null"):
            literal = {"true": True, "false": False, "null": None}[tok.text.lower()]
            return Value(literal, tok.pos, tok.text)
        raise self.error(f"expected a value after {after.text!r}", tok.pos)

    def value_list(self, op: _Token) -> tuple:
        tok = self.next()
        if tok.text != "(" or tok.kind != "punct":
            raise self.error(f"expected '(' after {op.text.upper()}, found {_show(tok)}", tok.pos)
        if self.peek().text == ")":
            raise self.error("empty list", tok.pos)
        values = [self.value(tok)]
        while (sep := self.next()).text == ",":
            values.append(self.value(sep))
        if sep.text != ")" or sep.kind != "punct":
            raise self.error(f"expected ',' or ')' in the list, found {_show(sep)}", sep.pos)
        return tuple(values)

    def check(self, fld: Field, op: str, v: Value) -> None:
        """Raise if ``fld op v`` makes no sense (types, nulls, LIKE on numbers)."""
        vtype = _field_type(fld)
        if v.value is None:
            hint = {"=": "use IS NULL", "!=": "use IS NOT NULL"}.get(op, "test it with IS NULL")
            raise self.error(f"null cannot be compared; {hint}", v.pos)
        if isinstance(v.value, bool):
            if op not in ("=", "!=") or fld.kind == "attribute":
                raise self.error(f"{v.text} only works with = and != on metrics, params, tags", v.pos)
        elif op in _LIKES and vtype == "number":
            raise self.error(f"{op} needs text, but '{fld}' is a number", fld.pos)
        elif op in _LIKES and not isinstance(v.value, str):
            raise self.error(f"{op} needs a quoted pattern, e.g. '%{v.text}%'", v.pos)
        elif vtype == "number" and isinstance(v.value, str):
            raise self.error(f"'{fld}' is a number: compare it with a number, not a string", v.pos)
        elif vtype == "text" and not isinstance(v.value, str):
            raise self.error(f"'{fld}' is text: quote the value, e.g. '{v.text}'", v.pos)


def _field_type(fld: Field) -> str:
    if fld.kind == "attribute":
        return ATTRIBUTES[fld.key]
    return {"metric": "number", "param": "any", "tag": "text"}[fld.kind]


def _show(tok: _Token) -> str:
    return "the end" if tok.kind == "end" else repr(tok.text)


def parse_filter(s: str | None) -> Node | None:
    """Parse a filter string into its AST.

    Parameters
    ----------
    s : str or None
        The filter, e.g. ``"metrics.acc > 0.9 and params.model = 'rf'"``.

    Returns
    -------
    Comparison, And, Or, Not or None
        The tree, or None for an empty or blank filter.

    Raises
    ------
    InvalidInput
        On any syntax or type error; the message shows the position with a caret.
    """
    if s is not None and not isinstance(s, str):
        raise InvalidInput(f"invalid filter: expected a string, got {type(s).__name__}")
    if s is None or not s.strip():
        return None
    parser = _Parser(s, "filter")
    node = parser.expr()
    tok = parser.peek()
    if tok.text == ")" and tok.kind == "punct":
        raise parser.error("unmatched ')'", tok.pos)
    parser.expect_end("expected AND, OR or the end of the filter")
    return node


def parse_order_by(entries: Iterable[str] | str | None) -> list[OrderKey]:
    """Parse order_by entries such as ``["metrics.acc DESC", "start_time"]``.

    Parameters
    ----------
    entries : list of str, str or None
        Each entry is ``<field> [ASC|DESC]`` or ``min(metrics.<key>) [ASC|DESC]`` (also
        ``max``); a lone string is one entry.

    Returns
    -------
    list of OrderKey
        Empty for None or an empty list (the caller applies the default).

    Raises
    ------
    InvalidInput
        On a malformed entry; the message shows the position with a caret.
    """
    if entries is None:
        return []
    if isinstance(entries, str):
        entries = [entries]
    keys = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise InvalidInput(f"invalid order_by: each entry must be '<field> [ASC|DESC]', got {entry!r}")
        parser = _Parser(entry, "order_by")
        aggregate, fld = parser.order_field()
        direction = parser.accept_kw("asc", "desc")
        parser.expect_end("expected ASC, DESC or the end of the entry")
        keys.append(OrderKey(fld, direction is not None and direction.text.lower() == "desc", aggregate))
    return keys
