"""What an endpoint's traffic says: request metrics, sampled payloads and input drift.

The workers count requests in 10-second buckets (:mod:`.serving.monitor`) and the
supervisor stores them; these reports merge the buckets of a time window into totals,
per-deployment figures and a series, and compare sampled inputs with the training data
of the deployment's model (:mod:`.drift`).
"""

from __future__ import annotations

import json

from ..errors import InvalidInput
from . import settings as settings_
from .records import EndpointRecords, now_ms

#: the most buckets a timeline is cut into
TIMELINE_MAX = 1000


def check_buckets(buckets: object) -> int:
    """A timeline's number of buckets, 1 to ``TIMELINE_MAX``, else InvalidInput."""
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= TIMELINE_MAX:
        raise InvalidInput(f"buckets must be a whole number from 1 to {TIMELINE_MAX}, got {buckets!r}")
    return buckets


def timeline_grid(start: int, end: int, buckets: int) -> tuple[int, int]:
    """The first bucket's start and the buckets' width (ms) of a timeline from ``start`` to
    ``end``: whole stored 10 s buckets, the last one holding ``end``."""
    from .serving.monitor import BUCKET_MS

    width = -(-(end - start) // buckets)  # ceil
    width = max(BUCKET_MS, -(-width // BUCKET_MS) * BUCKET_MS)
    last = end - end % BUCKET_MS  # the stored bucket now being filled
    return last + BUCKET_MS - width * buckets, width


def timeline(rows: list[dict], start: int, end: int, buckets: int) -> dict:
    """Stored 10 s bucket rows regrouped into ``buckets`` equal buckets covering ``start`` to
    ``end`` (ms; see :func:`timeline_grid`), per deployment.

    Returns ``{"bucket_s", "deployments": {name: [{t, count, errors, p50, p95, p99}, ...]}}``:
    ``t`` is a bucket's start (ms since the epoch), the latencies are ms (None in a bucket
    without requests); every deployment with requests in the window gets every bucket,
    oldest first, so that the series of several deployments line up.
    """
    from .serving.monitor import merge

    first, width = timeline_grid(start, end, buckets)
    grouped: dict[str, list[list[dict]]] = {}
    for r in rows:
        i = (r["bucket_start"] - first) // width
        if 0 <= i < buckets:
            grouped.setdefault(r["deployment"], [[] for _ in range(buckets)])[i].append(r)
    out = {}
    for dep, cells in sorted(grouped.items()):
        points = []
        for i, cell in enumerate(cells):
            m = merge(cell)
            points.append({"t": first + i * width, "count": m["count"], "errors": m["errors"],
                           **{q: m["latency_ms"][q] for q in ("p50", "p95", "p99")}})
        out[dep] = points
    return {"bucket_s": width / 1000, "deployments": out}


class EndpointReports:
    """Request metrics, samples and drift of endpoints, by name.

    Parameters
    ----------
    records : EndpointRecords
        The endpoint tables.
    models : ModelRegistry
        Resolves a deployment's ``NAME:VERSION`` and reads its training statistics.
    """

    def __init__(self, records: EndpointRecords, models):
        self.records = records
        self.models = models

    def metrics(self, name: str, since: float = 3600.0, *, deployment: str | None = None,
                buckets: int | None = None) -> dict:
        """Request counts, status codes, errors and latency percentiles over the last ``since`` s.

        Returns totals per deployment and overall, and a 10-second series.  With ``buckets``
        (1 to ``TIMELINE_MAX``), also ``timeline``: the window cut into that many equal
        buckets (whole multiples of the stored 10 s, so at least 10 s each), see
        :func:`timeline`.
        """
        from ..limits import check_window
        from .serving.monitor import BUCKET_MS, merge

        since = check_window(since)  # one cap for every face
        if buckets is not None:
            check_buckets(buckets)
        row = self.records.row(name)
        end = now_ms()
        start = end - int(since * 1000)
        fetched = start - BUCKET_MS
        if buckets is not None:
            fetched = min(fetched, timeline_grid(start, end, buckets)[0])
        stored = self.records.metric_buckets(row["pk"], fetched, deployment)
        rows = [r for r in stored if r["bucket_start"] >= start - BUCKET_MS]
        per_dep: dict[str, list] = {}
        per_bucket: dict[tuple, list] = {}
        for r in rows:
            per_dep.setdefault(r["deployment"], []).append(r)
            per_bucket.setdefault((r["bucket_start"], r["deployment"]), []).append(r)
        series = [{"bucket_start": b, "deployment": d, **merge(rs)}
                  for (b, d), rs in sorted(per_bucket.items())]
        return {"endpoint": name, "since_s": since, "bucket_s": BUCKET_MS / 1000,
                "monitoring": settings_.stored(row["settings"])["monitoring"], "total": merge(rows),
                "deployments": {d: merge(rs) for d, rs in sorted(per_dep.items())},
                "series": series,
                **({"timeline": timeline(stored, start, end, buckets)} if buckets is not None else {})}

    def samples(self, name: str, limit: int = 100) -> list[dict]:
        """The latest sampled request/response payloads (sampling is off unless sample_rate > 0)."""
        return self.records.samples(self.records.row(name)["pk"], limit)

    def drift(self, name: str, since: float = 3600.0) -> dict:
        """Per deployment: how far sampled inputs of the last ``since`` s drift from the training
        data of the deployment's first model (PSI per feature; see :mod:`.drift`).

        Each deployment says why when there is no verdict: no training statistics, sampling
        off, or too few sampled inputs.
        """
        from ..limits import check_window

        since = check_window(since)
        row = self.records.row(name)
        settings = settings_.stored(row["settings"])
        start = now_ms() - int(since * 1000)
        out = {dep["name"]: self._drift(name, row["pk"], dep, settings, start)
               for dep in self.records.deployments(row["pk"])}
        return {"endpoint": name, "since_s": since, "sample_rate": settings["sample_rate"],
                "deployments": out}

    def _drift(self, name: str, endpoint_pk: int, dep: dict, settings: dict, start: int) -> dict:
        """One deployment's drift verdict, or the reason it has none."""
        from . import drift as D

        version = self.models.resolve(json.loads(dep["models"])[0]["ref"])
        result = {"model": version.ref, "samples": 0, "skipped": 0, "verdict": "unknown",
                  "psi_max": None, "features": [], "message": None}
        stats = self.models.training_stats(version)
        if stats is None:
            result["message"] = (f"{version.ref} was registered without training data: register "
                                 f"the next version with --training-data train.csv (or "
                                 f"training_data=...) and deploy it")
            return result
        samples = self.records.sampled_requests(endpoint_pk, dep["name"], start)
        rows, result["skipped"] = D.sampled_rows(samples)
        result["samples"] = len(rows)
        if not samples and not settings["sample_rate"]:
            result["message"] = (f"input sampling is off: turn it on with 'mlws endpoint update "
                                 f"{name} --sample-rate 0.1'")
        elif len(rows) < D.MIN_SAMPLES:
            result["message"] = (f"only {len(rows)} sampled input rows in this window; a verdict "
                                 f"needs {D.MIN_SAMPLES}: wait for more traffic or widen --since")
        else:
            result.update(D.compare(stats, rows))
        return result
