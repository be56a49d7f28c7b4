"""Masking secret values in what a run prints: its logs and its notebook's outputs.

A :class:`Masker` knows the values of the secrets a run was given and replaces, with ``***``,
each value and the forms code most often prints it in:

- the value itself, and each of its lines of 4+ characters (a multi-line value such as a
  private key printed line by line);
- its escaped forms in ``repr()`` and JSON (``\\n``, ``\\\\``, quotes, non-ASCII escapes);
- base64, standard and URL-safe, padded or not, at each of the 3 byte alignments (so the value
  is masked also inside the base64 of a longer text, e.g. ``user:password`` in a header);
- URL-encoded (``quote``, ``quote_plus``, and with ``/`` kept).

What cannot be masked: a value cut apart by other text (``print(v[:4]); print(v[4:])``, each
character on its own line), transformed another way (hex, reversed, hashed, encrypted, in an
image), or written deliberately to files, artifacts, params or metrics.

:class:`MaskedStream` masks a stream written in pieces (a value split over two writes is still
masked); :func:`mask_message` a Jupyter message; :func:`mask_outputs` a notebook cell's outputs.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
#: forms shorter than this are not masked (they would mask ordinary text)
MIN_FORM = 4


def forms(value: str) -> set[str]:
    """Every printed form of ``value`` that is masked (see the module's list)."""
    raw = value.encode("utf-8")
    found = {value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             quote(value, safe=""), quote(value), quote_plus(value)}
    found |= {line.strip() for line in value.splitlines()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        found |= {whole, whole.rstrip("=")}
        for shift in (1, 2):  # the value's bytes at another offset of a longer base64 text
            text = encode(b"\0" * shift + raw).decode()
            start, end = -(-8 * shift // 6), (8 * (shift + len(raw))) // 6
            found.add(text[start:end])
        found.add(whole[:(8 * len(raw)) // 6])  # at offset 0, followed by more bytes
    return {f for f in found if len(f) >= MIN_FORM}


class Masker:
    """Replaces the forms of some secret values with ``***``.

    Parameters
    ----------
    values : iterable of str
        The secrets' values (an empty one masks nothing).
    """

    def __init__(self, values: Iterable[str] = ()):
        patterns = set()
        for value in values:
            if value:
                patterns |= forms(value)
        #: the forms, longest first (a longer form wins over a shorter one at the same place)
        self.patterns = sorted(patterns, key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, self.patterns))) if self.patterns else None
        self._bytes = re.compile(b"|".join(re.escape(p.encode("utf-8")) for p in self.patterns)) \
            if self.patterns else None
        self.longest = len(self.patterns[0]) if self.patterns else 0

    def __bool__(self) -> bool:
        return self._text is not None

    def text(self, text: str) -> str:
        """``text`` with every form replaced."""
        return self._text.sub(MASK, text) if self._text is not None and text else text

    def bytes(self, data: bytes) -> bytes:
        """``data`` with every form (as UTF-8) replaced."""
        return self._bytes.sub(MASK.encode(), data) if self._bytes is not None and data else data

    def held(self, text: str) -> int:
        """How many characters at the end of ``text`` could begin a form: a stream holds them
        back until it knows what follows."""
        best = 0
        tail = text[-(self.longest - 1):] if self.longest > 1 else ""
        for pattern in self.patterns:
            i = tail.find(pattern[0], len(tail) - min(len(pattern) - 1, len(tail)))
            while i != -1 and len(tail) - i > best:
                if pattern.startswith(tail[i:]):
                    best = len(tail) - i
                    break
                i = tail.find(pattern[0], i + 1)
        return best


class MaskedStream:
    """A text stream masked as it is written in pieces: a value split over two writes is
    still masked, as only the end of what was written that could begin a value waits for what
    follows (:meth:`write` returns what may go out now; :meth:`flush` the rest)."""

    def __init__(self, masker: Masker):
        self.masker = masker
        self._pending = ""

    def write(self, text: str) -> str:
        if not self.masker:
            return text
        masked = self.masker.text(self._pending + text)
        keep = self.masker.held(masked)
        self._pending = masked[len(masked) - keep:] if keep else ""
        return masked[:len(masked) - keep]

    def flush(self) -> str:
        out, self._pending = self._pending, ""
        return out


class MaskedBytes:
    """:class:`MaskedStream` for bytes (a child process's output), decoded as UTF-8."""

    def __init__(self, masker: Masker):
        import codecs

        self._stream = MaskedStream(masker)
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._on = bool(masker)

    def write(self, data: bytes) -> bytes:
        if not self._on:
            return data
        return self._stream.write(self._decoder.decode(data)).encode("utf-8", "surrogateescape")

    def flush(self) -> bytes:
        if not self._on:
            return b""
        rest = self._stream.write(self._decoder.decode(b"", final=True)) + self._stream.flush()
        return rest.encode("utf-8", "surrogateescape")


def mask_message(masker: Masker, msg: dict) -> None:
    """Mask, in place, the text a Jupyter IOPub message carries: a stream's text, an error's
    name, value and traceback, a display's or result's data (all but images)."""
    if not masker:
        return
    content = msg.get("content")
    if not isinstance(content, dict):
        return
    kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
    if kind == "stream" and isinstance(content.get("text"), str):
        content["text"] = masker.text(content["text"])
    elif kind == "error":
        _mask_error(masker, content)
    elif kind in ("display_data", "execute_result", "update_display_data"):
        if isinstance(content.get("data"), dict):
            content["data"] = _mask_data(masker, content["data"])


def mask_outputs(masker: Masker, outputs: list) -> None:
    """Mask, in place, a notebook cell's outputs (streams joined from pieces included)."""
    if not masker:
        return
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            out["text"] = masker.text("".join(text) if isinstance(text, list) else text)
        elif kind == "error":
            _mask_error(masker, out)
        elif isinstance(out.get("data"), dict):
            out["data"] = _mask_data(masker, out["data"])


def _mask_error(masker: Masker, content: dict) -> None:
    for key in ("ename", "evalue"):
        if isinstance(content.get(key), str):
            content[key] = masker.text(content[key])
    if isinstance(content.get("traceback"), list):
        content["traceback"] = [masker.text(line) if isinstance(line, str) else line
                                for line in content["traceback"]]


def _mask_data(masker: Masker, data: dict) -> dict:
    """A mime bundle with its text masked; images are left as they are (base64 of pixels)."""
    return {mime: value if mime.startswith("image/") else _mask_json(masker, value)
            for mime, value in data.items()}


def _mask_json(masker: Masker, value):
    if isinstance(value, str):
        return masker.text(value)
    if isinstance(value, list):
        return [_mask_json(masker, v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_json(masker, v) for k, v in value.items()}
    return value


def mask_file(masker: Masker, path: str | os.PathLike) -> None:
    """Mask a finished log file, replacing it (a file of any size, read in pieces)."""
    if not masker:
        return
    path = Path(path)
    if not path.is_file():
        return
    tmp = path.with_name(f".{path.name}.masked")
    stream = MaskedBytes(masker)
    with open(path, "rb") as src, open(tmp, "wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            out.write(stream.write(chunk))
        out.write(stream.flush())
    os.replace(tmp, path)
