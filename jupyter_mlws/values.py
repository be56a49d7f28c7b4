"""What a run logged besides its latest metrics: lists, tables and images, and how many points
each metric holds.

``run.log_list``, ``run.log_table`` and ``run.log_image`` record a value per step of a key
(:meth:`~jupyter_mlws.runs.RunService.add_value`: lists and tables as JSON, an image as a
blob with its format and size).  :class:`ValueService` reads them back for the faces: a page
of the newest steps of each key, one image's bytes, and counts.  The cell records of session
and notebook runs share the table but are not logged values (see :mod:`jupyter_mlws.cells`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy import and_, func, select

from .errors import InvalidInput, NotFound
from .limits import check_key, check_step
from .runs import RunService
from .store import schema as S
from .store.blobs import BlobStore
from .store.db import Database

#: the kinds of value a run logs (other kinds in the table are cell records)
KINDS = ("list", "table", "image")
#: values per key a page holds by default, and at most
DEFAULT_RESULTS, MAX_RESULTS = 50, 1000
#: bytes of list and table JSON one page carries: past it, older values come without their
#: content (``"value": null, "truncated": true``); the newest value of each key always has it
PAGE_BUDGET = 16 << 20
#: the media type of each image format
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif",
               "webp": "image/webp", "svg": "image/svg+xml"}


def image_url(run_id: str, key: str, step: int) -> str:
    """Where the REST API serves a logged image, relative to ``{base_url}mlws/api/``."""
    return f"runs/{run_id}/values/{quote(key, safe='')}/{step}/image"


class ValueService:
    """Read the lists, tables and images logged to runs.

    Parameters
    ----------
    db : Database
        The metadata store.
    runs : RunService
        Resolves run ids.
    blobs : BlobStore
        Where images' bytes live.
    """

    def __init__(self, db: Database, runs: RunService, blobs: BlobStore):
        self.db = db
        self.runs = runs
        self.blobs = blobs

    def page(self, run_id: str, key: str | None = None, max_results: int = DEFAULT_RESULTS) -> dict:
        """The newest ``max_results`` steps of each key (or of ``key`` only), and every key.

        Returns ``{"values": [...], "keys": [...]}``.  ``values`` are grouped by key (in key
        order), newest step first (of equal steps, the last logged first); each is ``{"key",
        "kind" ("list", "table" or "image"), "step", "timestamp" (ms), "value" (a list, a
        table as ``{column: [...]}``, None for an image), "image" (``{"url", "format",
        "size"}`` in bytes, None for a list or table)}``, plus ``"truncated": true`` when
        the page's :data:`PAGE_BUDGET` left its content out.  ``keys`` are ``{"key", "kind",
        "count"}`` for every key the run logged (whatever ``key`` asked), so a face can say
        how many steps it did not show.  InvalidInput for ``max_results`` outside 1 to
        :data:`MAX_RESULTS` or a bad key; NotFound for an unknown run.
        """
        if isinstance(max_results, bool) or not isinstance(max_results, int) \
                or not 1 <= max_results <= MAX_RESULTS:
            raise InvalidInput(f"max_results must be a whole number from 1 to {MAX_RESULTS}, "
                               f"got {max_results!r}")
        if key is not None:
            check_key(key, "value")
        run_id = self.runs.id_of(run_id)
        run_pk = self.runs.pk_of(run_id)
        v = S.run_values
        mine = and_(v.c.run_pk == run_pk, v.c.kind.in_(KINDS))
        rank = func.row_number().over(partition_by=v.c.key,
                                      order_by=(v.c.step.desc(), v.c.pk.desc())).label("rank")
        ranked = select(v.c.pk, rank).where(mine if key is None else and_(mine, v.c.key == key))
        ranked = ranked.subquery()
        with self.db.read() as conn:
            # ranked first without the data column, then only the chosen rows' data is read
            pks = conn.execute(select(ranked.c.pk).where(ranked.c.rank <= max_results)).scalars().all()
            rows = conn.execute(select(v.c.key, v.c.kind, v.c.step, v.c.ts, v.c.data)
                                .where(v.c.pk.in_(pks))
                                .order_by(v.c.key, v.c.step.desc(), v.c.pk.desc())).all() if pks else []
            keys = conn.execute(select(v.c.key, v.c.kind, func.count()).where(mine)
                                .group_by(v.c.key, v.c.kind).order_by(v.c.key, v.c.kind)).all()
        return {"values": _values(run_id, rows),
                "keys": [{"key": k, "kind": kind, "count": n} for k, kind, n in keys]}

    def image(self, run_id: str, key: str, step: int) -> dict:
        """The image logged as ``key`` at ``step`` (of two at one step, the later):
        ``{"format", "size", "media_type", "sha256", "name"}``, ``name`` a file name for it
        (``KEY-STEP.png``).  NotFound when there is none; InvalidInput for a bad key or step."""
        check_key(key, "image")
        step = check_step(key, step)
        run_pk = self.runs.pk_of(run_id)
        v = S.run_values
        with self.db.read() as conn:
            row = conn.execute(select(v.c.data, v.c.blob).where(and_(
                v.c.run_pk == run_pk, v.c.key == key, v.c.step == step, v.c.kind == "image"))
                .order_by(v.c.pk.desc()).limit(1)).first()
        if row is None or not row.blob:
            raise NotFound(f"the run logged no image {key!r} at step {step}: "
                           "'mlws run values RUN' lists what it logged")
        info = json.loads(row.data or "{}")
        fmt = info.get("format", "png")
        return {"format": fmt, "size": info.get("size"), "media_type": MEDIA_TYPES.get(fmt, ""),
                "sha256": row.blob, "name": image_name(key, step, fmt)}

    def open_image(self, run_id: str, key: str, step: int) -> tuple[dict, BinaryIO]:
        """:meth:`image` and its bytes, opened for reading (the caller closes the stream)."""
        info = self.image(run_id, key, step)
        return info, self.blobs.open(info["sha256"])

    def save_images(self, run_id: str, dest: str | os.PathLike, key: str | None = None,
                    max_results: int = DEFAULT_RESULTS) -> list[Path]:
        """Write the images of :meth:`page` (the newest ``max_results`` steps of each image key,
        or of ``key``) into the folder ``dest`` as ``KEY-STEP.FORMAT`` (a key's characters
        other than letters, digits, ``-``, ``_`` and ``.`` as ``_``); return the files
        written, each written whole or not at all."""
        from .artifacts import copy_blob
        from .fsutil import safe_join

        shown = self.page(run_id, key, max_results)["values"]
        written = []
        for item in (v for v in shown if v["kind"] == "image"):
            info = self.image(run_id, item["key"], item["step"])
            target = safe_join(dest, info["name"])
            copy_blob(self.blobs, info["sha256"], target)
            written.append(target)
        return written

    def count(self, run_id: str) -> int:
        """How many lists, tables and images the run logged (every step of every key)."""
        run_pk = self.runs.pk_of(run_id)
        v = S.run_values
        with self.db.read() as conn:
            return conn.execute(select(func.count()).where(
                and_(v.c.run_pk == run_pk, v.c.kind.in_(KINDS)))).scalar_one()

    def metric_counts(self, run_id: str) -> dict[str, int]:
        """How many points each metric of the run holds (1: a single value, better shown as a
        number than as a chart)."""
        run_pk = self.runs.pk_of(run_id)
        m = S.latest_metrics
        with self.db.read() as conn:
            return dict(conn.execute(select(m.c.key, m.c.count).where(m.c.run_pk == run_pk)
                                     .order_by(m.c.key)).all())


def _values(run_id: str, rows) -> list[dict]:
    """Rows as the faces show them, content left out past the page's budget."""
    out, spent, seen = [], 0, set()
    for key, kind, step, ts, data in rows:
        item = {"key": key, "kind": kind, "step": step, "timestamp": ts, "value": None, "image": None}
        if kind == "image":
            info = json.loads(data or "{}")
            item["image"] = {"url": image_url(run_id, key, step), "format": info.get("format"),
                             "size": info.get("size")}
        elif key not in seen or spent + len(data or "") <= PAGE_BUDGET:
            item["value"] = json.loads(data) if data else None
            spent += len(data or "")
        else:
            item["truncated"] = True
        seen.add(key)
        out.append(item)
    return out


def image_name(key: str, step: int, fmt: str) -> str:
    """A file name for the image logged as ``key`` at ``step``: ``KEY-STEP.png`` (a key's
    characters other than letters, digits, ``-``, ``_`` and ``.`` as ``_``; jpeg as ``.jpg``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return f"{safe}-{step}.{'jpg' if fmt == 'jpeg' else fmt}"
