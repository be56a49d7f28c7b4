"""A search's trials: one finished FLAML trial, how it becomes a child run, and the leaderboard.

A trial is read from FLAML's training log (:meth:`Trial.from_log`) and recorded as a child run
of the search's parent run: its ``automl.trial`` tag (written in the same transaction as the
run itself) holds the whole trial, so a child exists exactly when its trial is recorded, and a
resumed search knows its finished trials from its children alone.  The leaderboard is computed
from the children when asked (:func:`leaderboard`), so it is the same whether the search is
running, stopped or ended.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .spec import MAXIMIZED

#: the child run's tag holding the trial (JSON)
TRIAL_TAG = "automl.trial"


@dataclass(frozen=True)
class Trial:
    """One finished trial.

    Attributes
    ----------
    number : int
        Its place in the search, from 1 (counted over a resumed search's attempts).
    estimator : str
        FLAML's estimator name (``lgbm``, ``rf``, ...).
    config : dict
        Its hyper-parameters as FLAML gave them.
    val_loss : float
        FLAML's validation loss (lower is better: ``1 - metric`` for a metric it maximizes).
    train_time_s : float
        Seconds the trial took (training and validation).
    wall_clock_s : float
        Seconds from the search's start to the trial's end.
    sample_size : int
        Rows it trained on.
    logged_metric : dict
        What FLAML logged beside the loss (``pred_time``, ...).
    """

    number: int
    estimator: str
    config: dict
    val_loss: float
    train_time_s: float
    wall_clock_s: float
    sample_size: int
    logged_metric: dict = field(default_factory=dict)

    @classmethod
    def from_log(cls, line: str, number: int) -> "Trial":
        """Trial ``number`` from one line of FLAML's training log (``log_type="all"``)."""
        d = json.loads(line)
        return cls(number=number, estimator=d["learner"],
                   config=dict(d["config"] or {}), val_loss=float(d["validation_loss"]),
                   train_time_s=float(d["trial_time"]), wall_clock_s=float(d["wall_clock_time"]),
                   sample_size=int(d["sample_size"] or 0),
                   logged_metric=d.get("logged_metric") if isinstance(d.get("logged_metric"), dict)
                   else {})

    @classmethod
    def from_tag(cls, text: str) -> "Trial":
        d = json.loads(text)
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def to_tag(self) -> str:
        return json.dumps(asdict(self), default=str, separators=(",", ":"))

    def metric_value(self, metric: str) -> float:
        """The validation metric (``roc_auc``, ``r2``, ``rmse``, ...) FLAML's loss stands for."""
        return 1.0 - self.val_loss if metric in MAXIMIZED else self.val_loss

    def params(self) -> dict[str, Any]:
        """The child run's params: ``estimator`` and each hyper-parameter."""
        return {"estimator": self.estimator,
                **{k: v for k, v in self.config.items() if k != "FLAML_sample_size"}}

    def metrics(self, metric: str) -> dict[str, float]:
        """The child run's metrics: the validation metric, ``val_loss`` and ``train_time_s``."""
        out = {"val_loss": self.val_loss, "train_time_s": round(self.train_time_s, 4)}
        value = self.metric_value(metric)
        if math.isfinite(value):
            out[metric] = value
        return out

    def key(self) -> str:
        """Its configuration's identity (:func:`.search.config_key`)."""
        from .search import config_key

        return config_key(self.estimator, self.config, self.sample_size)

    def known(self) -> dict[str, Any]:
        """What a resumed search is given of it (see :mod:`.search`)."""
        return {"estimator": self.estimator, "config": self.config, "val_loss": self.val_loss,
                "logged_metric": self.logged_metric, "sample_size": self.sample_size}


def best(trials: Iterable[Trial]) -> Trial | None:
    """The best trial: lowest loss, then the most rows trained on, then the earliest."""
    return min(trials, key=lambda t: (t.val_loss, -t.sample_size, t.number), default=None)


def leaderboard(children: Iterable, metric: str) -> list[dict[str, Any]]:
    """The leaderboard of a search from its child runs (records with ``tags``, ``id``,
    ``name``, ``status``): one row per recorded trial, best first.

    Each row: ``rank`` (from 1), ``run_id``, ``name``, ``trial`` (its number), ``estimator``,
    ``config`` (dict), ``metric`` (the validation metric's value), ``val_loss``,
    ``train_time_s``, ``sample_size``, ``best`` (True for the first row only).
    """
    rows = []
    for child in children:
        text = child.tags.get(TRIAL_TAG)
        if not text:
            continue
        trial = Trial.from_tag(text)
        rows.append((trial, child))
    top = best(t for t, _ in rows)
    rows.sort(key=lambda tc: (tc[0].val_loss, -tc[0].sample_size, tc[0].number))
    return [{"rank": i + 1, "run_id": child.id, "name": child.name, "trial": t.number,
             "estimator": t.estimator, "config": t.params(), "metric": t.metric_value(metric),
             "val_loss": t.val_loss, "train_time_s": t.train_time_s,
             "sample_size": t.sample_size, "best": t is top}
            for i, (t, child) in enumerate(rows)]


def trials_of(children: Iterable) -> list[Trial]:
    """The trials recorded as ``children`` (child run records), by number."""
    out = [Trial.from_tag(c.tags[TRIAL_TAG]) for c in children if c.tags.get(TRIAL_TAG)]
    return sorted(out, key=lambda t: t.number)


def parse_lines(data: bytes) -> tuple[list[str], bytes]:
    """Complete lines of a log being appended to, and the incomplete rest."""
    *lines, rest = data.split(b"\n")
    return [ln.decode() for ln in lines if ln.strip()], rest
