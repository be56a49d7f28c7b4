"""Thin a long metric series for a chart, keeping its peaks.

Min/max per bucket: the series is cut into ``max_points // 2`` buckets of equal
point counts, and each bucket keeps its lowest and highest point, in logging
order, so spikes survive however long the series.  The first and last points
always stay.  Pure Python, core only: every face (the REST API, the notebook widgets) gets
thinned points from :meth:`~jupyter_mlws.runs.RunService.metric_points`.
"""

from __future__ import annotations

import math
from typing import Sequence


def downsample(points: Sequence[tuple], max_points: int) -> list[tuple]:
    """At most ``max_points`` of ``points`` (``(step, ts, value)``), extremes kept."""
    n = len(points)
    if n <= max_points:
        return list(points)
    if max_points < 4:
        return [points[0], points[-1]][-max_points:]
    buckets = (max_points - 2) // 2
    keep = {0, n - 1}
    inner = n - 2
    for b in range(buckets):
        lo = 1 + b * inner // buckets
        hi = 1 + (b + 1) * inner // buckets
        if lo < hi:
            keep.update(_extremes(points, lo, hi))
    return [points[i] for i in sorted(keep)]


def _extremes(points: Sequence[tuple], lo: int, hi: int) -> tuple[int, int]:
    """Indexes of the lowest and highest value in ``points[lo:hi]`` (NaN counts as neither)."""
    low = high = None
    for i in range(lo, hi):
        v = points[i][2]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if low is None or v < points[low][2]:
            low = i
        if high is None or v > points[high][2]:
            high = i
    return (lo, lo) if low is None else (low, high)
