"""Bounds on the outputs an executed notebook keeps: per cell and per notebook.

The notebook executor hands every output to :class:`OutputCap` as it arrives, so the notebook in
memory, its live copy on disk and the stored artifact never hold more than the caps, however much
a cell prints.  Consecutive stream outputs of a cell are coalesced (as Jupyter shows them); past
a cap, streams are cut, display outputs are dropped and one marker output in the cell says what
was cut and where the streams are kept (the run's logs, which have their own cap).  Error outputs
are always kept, each field bounded.  Sizes are measured as the JSON the notebook file holds
(non-ASCII counted as escaped: an upper bound).
"""

from __future__ import annotations

import json

#: bytes of output one cell keeps in the executed notebook
CELL_OUTPUT_CAP = 5 << 20
#: bytes of output all cells of an executed notebook keep together
NOTEBOOK_OUTPUT_CAP = 20 << 20
#: bytes an error output's value and traceback keep each (an error is always kept)
ERROR_FIELD_CAP = 64 << 10
#: bytes a stream output takes besides its text (its keys, as the notebook file is indented)
_STREAM_KEYS = 100


def _size(value) -> int:
    """Bytes ``value`` takes as JSON (an upper bound: non-ASCII counted as ``\\uXXXX``)."""
    return len(json.dumps(value))


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{max(1, n >> 10)} KB"


def _fit(text: str, room: int) -> tuple[str, int]:
    """A long prefix of ``text`` (found in a few steps) whose JSON takes at most ``room``, and
    that size."""
    piece = text[:max(room, 0)]
    size = _size(piece)
    while piece and size > room:
        piece = piece[:max(len(piece) * room // size - 1, 0)]
        size = _size(piece)
    return piece, size


class _Cell:
    """What one cell keeps and what was cut from it."""

    def __init__(self):
        self.kept = 0          # bytes of output kept
        self.count = 0         # len(outputs) after the last admitted output
        self.cut_streams: dict[str, int] = {}   # stream name -> characters not kept
        self.cut_displays = 0
        self.marker = None     # the marker output, once something was cut


class OutputCap:
    """Keeps a notebook's outputs within ``cell_cap`` per cell and ``notebook_cap`` in all.

    Parameters
    ----------
    cell_cap, notebook_cap : int
        Bytes (as notebook JSON) one cell, and all cells together, keep.
    log_note : str
        Where the full streams are, for the marker (e.g. the run's capped logs).
    """

    def __init__(self, cell_cap: int = CELL_OUTPUT_CAP, notebook_cap: int = NOTEBOOK_OUTPUT_CAP,
                 log_note: str = ""):
        self.cell_cap = cell_cap
        self.notebook_cap = notebook_cap
        self.log_note = log_note
        self.total = 0
        self._cells: dict[int, _Cell] = {}

    def _room(self, cell: _Cell) -> int:
        return min(self.cell_cap - cell.kept, self.notebook_cap - self.total)

    def _count(self, cell: _Cell, n: int) -> None:
        cell.kept += n
        self.total += n

    def admit(self, outputs: list, before: int, cell_index: int, display_id: str | None = None
              ) -> None:
        """Bound ``outputs[-1]``, just appended to a cell that held ``before`` outputs.

        It may be coalesced into the previous stream, cut, or dropped (a marker then says so);
        a dropped output with a ``display_id`` stays as an empty shell, as nbclient points at it.
        """
        cell = self._cells.setdefault(cell_index, _Cell())
        if len(outputs) != before + 1 or before != cell.count:  # cleared meanwhile
            self._recount(cell, outputs[:-1])
        out = outputs[-1]
        kind = out.get("output_type")
        if kind == "stream":
            self._admit_stream(cell, outputs, out)
        elif kind == "error":
            self._count(cell, _bound_error(out))
        else:
            self._admit_display(cell, outputs, out, display_id)
        cell.count = len(outputs)

    def _recount(self, cell: _Cell, outputs: list) -> None:
        """The cell's outputs were cleared (``clear_output``): start its account afresh."""
        self.total -= cell.kept
        cell.kept, cell.cut_streams, cell.cut_displays, cell.marker = 0, {}, 0, None
        self._count(cell, sum(_size(o) for o in outputs))

    def _admit_stream(self, cell: _Cell, outputs: list, out) -> None:
        text = out.get("text", "")
        outputs.pop()  # kept below, coalesced into the previous stream where there is one
        if cell.marker is None:
            piece, size = _fit(text, self._room(cell) - _STREAM_KEYS)
            if piece:
                prev = outputs[-1] if outputs else None
                if prev is not None and prev.get("output_type") == "stream" \
                        and prev.get("name") == out.get("name"):
                    if isinstance(prev["text"], str):  # a list of pieces: appending stays cheap
                        prev["text"] = [prev["text"]]
                    prev["text"].append(piece)
                    self._count(cell, size)
                else:
                    out["text"] = piece
                    outputs.append(out)
                    self._count(cell, size + _STREAM_KEYS)
            text = text[len(piece):]
        if text:
            name = out.get("name", "stream")
            cell.cut_streams[name] = cell.cut_streams.get(name, 0) + len(text)
            self._mark(cell, outputs)

    def _admit_display(self, cell: _Cell, outputs: list, out, display_id: str | None) -> None:
        size = _size(out)
        if cell.marker is None and size <= self._room(cell):
            self._count(cell, size)
            return
        if display_id:
            out["data"], out["metadata"] = {}, {}
            self._count(cell, _size(out))
        else:
            outputs.pop()
        cell.cut_displays += 1
        self._mark(cell, outputs)

    def bound_update(self, msg: dict, display_map: dict, cells: list) -> None:
        """Bound a message that replaces displayed data in place (a display id's update).

        ``display_map`` is nbclient's ``{display_id: {cell index: [output index]}}``; an update
        that does not fit the caps carries empty data instead.
        """
        content = msg.get("content", {})
        display_id = (content.get("transient") or {}).get("display_id")
        if not display_id or display_id not in display_map or "data" not in content:
            return
        new = _size(content["data"])
        growth = {}
        for cell_index, indexes in display_map[display_id].items():
            outputs = cells[cell_index].get("outputs", [])
            old = sum(_size(outputs[i].get("data", {})) for i in indexes if i < len(outputs))
            growth[cell_index] = len(indexes) * new - old
        fits = all(self._room(self._cells.setdefault(i, _Cell())) >= g for i, g in growth.items())
        if fits and sum(growth.values()) <= self.notebook_cap - self.total:
            for cell_index, g in growth.items():
                self._count(self._cells[cell_index], g)
            return
        content["data"], content["metadata"] = {}, {}
        for cell_index in growth:
            cell = self._cells[cell_index]
            cell.cut_displays += 1
            self._mark(cell, cells[cell_index].get("outputs", []))

    def _mark(self, cell: _Cell, outputs: list) -> None:
        """Add or refresh the cell's marker saying what was cut."""
        cut = [f"{_mb(n)} of {name}" for name, n in cell.cut_streams.items()]
        if cell.cut_displays:
            cut.append(f"{cell.cut_displays} display output(s)")
        text = (f"[mlws: output cut: {', '.join(cut)} not kept in this notebook, which keeps at "
                f"most {_mb(self.cell_cap)} of output per cell and {_mb(self.notebook_cap)} in "
                f"all. {self.log_note}]\n")
        if cell.marker is None:
            import nbformat

            cell.marker = nbformat.v4.new_output("stream", name="stderr", text="")
            outputs.append(cell.marker)
        else:
            self._count(cell, -_size(cell.marker))
        cell.marker["text"] = text
        self._count(cell, _size(cell.marker))

    @staticmethod
    def finish(cell) -> None:
        """Join the stream pieces of a cell that has run (one string per output, as usual)."""
        for out in cell.get("outputs", []):
            if isinstance(out.get("text"), list):
                out["text"] = "".join(out["text"])


def _bound_error(out) -> int:
    """Bound an error output's value and traceback in place; return its size."""
    evalue = out.get("evalue", "")
    if len(evalue) > ERROR_FIELD_CAP:
        out["evalue"] = evalue[:ERROR_FIELD_CAP] + f"... [mlws: {len(evalue) - ERROR_FIELD_CAP} characters cut]"
    lines = list(out.get("traceback", []))
    kept, size = [], 0
    for line in reversed(lines):  # the innermost frames matter most
        size += _size(line)
        if size > ERROR_FIELD_CAP:
            kept.append(f"[mlws: {len(lines) - len(kept)} earlier traceback entries cut]")
            break
        kept.append(line)
    out["traceback"] = kept[::-1]
    return _size(out)
