"""What an automated-ML search is asked to do, checked before anything is recorded.

:func:`check` turns what a face received (the CLI's options, ``ws.automl(...)``'s keywords, a
REST body) into an :class:`AutoMLSpec`, against the dataset version's recorded schema and
statistics (:mod:`jupyter_mlws.datasets.tabular`): no data is read and no library is imported
here, so a bad request is refused at once and nothing is recorded.  Every rule lives here, so
the CLI, the SDK and the REST API refuse the same input with the same words.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from ..errors import InvalidInput

TASKS = ("classification", "regression")
#: the smallest time budget, seconds (FLAML needs a few seconds for its first trials)
MIN_BUDGET_S = 5.0
#: the largest, seconds (a week)
MAX_BUDGET_S = 7 * 86400.0
#: the budget when none is given, seconds
DEFAULT_BUDGET_S = 60.0
MAX_TRIALS = 100_000
#: FLAML's estimators by task (``flaml.automl.task.generic_task``, without the Spark and
#: transformer ones): tests/test_automl.py checks these against the installed FLAML
ESTIMATORS = {
    "classification": ("lgbm", "rf", "xgboost", "extra_tree", "xgb_limitdepth", "lrl1", "lrl2",
                       "catboost", "kneighbor", "histgb", "svc", "sgd"),
    "regression": ("lgbm", "rf", "xgboost", "extra_tree", "xgb_limitdepth", "catboost",
                   "kneighbor", "histgb", "sgd", "enet", "lassolars"),
}
#: FLAML's metric names by task (``flaml.automl.ml.sklearn_metric_name_set``); the ones a
#: search maximizes are in :data:`MAXIMIZED`
METRICS = {
    "classification": ("accuracy", "roc_auc", "roc_auc_ovr", "roc_auc_ovo", "roc_auc_weighted",
                       "roc_auc_ovr_weighted", "roc_auc_ovo_weighted", "log_loss", "f1", "ap",
                       "micro_f1", "macro_f1"),
    "regression": ("r2", "rmse", "mae", "mse", "mape"),
}
MAXIMIZED = frozenset({"r2", "accuracy", "roc_auc", "roc_auc_ovr", "roc_auc_ovo",
                       "roc_auc_weighted", "roc_auc_ovr_weighted", "roc_auc_ovo_weighted", "f1",
                       "ap", "micro_f1", "macro_f1"})
#: metrics that only a two-class target has
BINARY_ONLY = frozenset({"roc_auc", "f1", "ap"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$", re.IGNORECASE)
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class AutoMLSpec:
    """A checked search request.

    Attributes
    ----------
    data : str
        The dataset version, pinned: ``NAME:VERSION``.
    target : str
        The column to predict.
    task : str
        ``classification`` or ``regression``.
    metric : str or None
        FLAML's metric name; None: chosen when the data is read (``roc_auc`` for two classes,
        ``accuracy`` for more, ``r2`` for regression: :func:`default_metric`).
    time_budget : float
        Seconds for the search and the final refit of the best model together (>= 5).
    max_trials : int or None
        At most this many trials (None: as many as the budget allows).
    seed : int
        The search's random seed (the same seed and ``max_trials`` give the same best
        configuration).
    estimators : tuple of str
        FLAML's estimator names to search over (empty: FLAML's default list for the task).
    experiment : str
        The experiment of the parent run.
    compute : str
        The compute target the search executes on (``local`` by default).
    register : bool
        Register the best model (as ``model_name``) when the search ends.
    model_name : str
        The registered model's name (default: ``DATASET-TARGET``, made a valid name).
    """

    data: str
    target: str
    task: str
    metric: str | None = None
    time_budget: float = DEFAULT_BUDGET_S
    max_trials: int | None = None
    seed: int = 0
    estimators: tuple[str, ...] = ()
    experiment: str = ""
    compute: str = "local"
    register: bool = True
    model_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: what the parent run keeps (its ``automl.spec`` tag)."""
        out = asdict(self)
        out["estimators"] = list(self.estimators)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AutoMLSpec":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known["estimators"] = tuple(known.get("estimators") or ())
        return cls(**known)

    def params(self) -> dict[str, Any]:
        """The parent run's params (what the runs table and compare show)."""
        return {"data": self.data, "target": self.target, "task": self.task,
                "metric": self.metric or "auto", "time_budget_s": self.time_budget,
                "max_trials": self.max_trials if self.max_trials is not None else "none",
                "seed": self.seed, "estimators": ",".join(self.estimators) or "auto",
                "compute": self.compute}


def parse_budget(value: object) -> float:
    """Seconds of a time budget: a number of seconds, or text such as ``"90s"``, ``"10m"``,
    ``"1.5h"``, ``"500ms"``.  InvalidInput for anything else, or outside 5 s .. 7 days."""
    if isinstance(value, bool):
        raise InvalidInput(f"time budget {value!r}: give seconds, or a duration such as 90s or 10m")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            raise InvalidInput(f"time budget {str(value)[:40]!r} is not a duration: give seconds, "
                               "or a duration such as 90s, 10m or 1h")
        seconds = float(match[1]) * _UNITS[(match[2] or "").lower() or None]
    if not math.isfinite(seconds) or seconds < MIN_BUDGET_S:
        raise InvalidInput(f"time budget {seconds:g} s is under {MIN_BUDGET_S:g} s: a search needs "
                           "a few seconds for its first trials; give --time-budget 5s or more")
    if seconds > MAX_BUDGET_S:
        raise InvalidInput(f"time budget {seconds:g} s is over 7 days: give a shorter one")
    return seconds


def default_metric(task: str, classes: int) -> str:
    """The metric a search judges by when none is given: ``roc_auc`` for two classes,
    ``accuracy`` for more, ``r2`` for regression."""
    if task == "regression":
        return "r2"
    return "roc_auc" if classes == 2 else "accuracy"


def direction(metric: str) -> str:
    """``max`` when a higher value of FLAML metric ``metric`` is better (``roc_auc``,
    ``accuracy``, ``r2``, ...), ``min`` when a lower one is (``log_loss``, ``rmse``, ``mae``, ...):
    how a search ranks its trials (its loss is ``1 - metric`` or the metric itself)."""
    return "max" if metric in MAXIMIZED else "min"


def check_metric_for_classes(metric: str, classes: int) -> None:
    """InvalidInput when ``metric`` cannot judge a target of ``classes`` classes."""
    if metric in BINARY_ONLY and classes != 2:
        raise InvalidInput(f"metric {metric!r} needs a two-class target; this one has {classes} "
                           "classes: use accuracy, roc_auc_ovr, macro_f1 or log_loss")


#: a numeric classification target with more different values than this share of its rows is
#: refused (each class would have a row or two: it is a number to regress)
MAX_CLASSES_SHARE = 0.5


def check(*, data: str, stats: Mapping[str, Any] | None, target: object, task: object,
          metric: object = None, time_budget: object = DEFAULT_BUDGET_S,
          max_trials: object = None, seed: object = 0, estimators: object = None,
          experiment: object = None, compute: object = None, register: object = True,
          model_name: object = None) -> AutoMLSpec:
    """Check a search request against dataset version ``data`` (pinned ``NAME:VERSION``) and
    its tabular ``stats`` (None: the version is not tabular); return the spec.

    Raises
    ------
    InvalidInput
        Naming what is wrong and what to do: a version that is not tabular or has no rows; an
        unknown target column (the columns are named); a target with one value; regression on
        a text target; classification of numbers that are nearly all different; a metric
        that cannot judge the target's number of classes (e.g. roc_auc of three); an unknown task, metric or estimator (the known ones are named); a
        budget under 5 s; a bad max_trials, seed or name.
    """
    from ..limits import check_key
    from ..models import check_name

    if stats is None:
        raise InvalidInput(f"dataset {data} is not tabular: automated ML reads a table; register "
                           "CSV or Parquet files with 'mlws dataset register NAME PATH --tabular'")
    if task not in TASKS:
        raise InvalidInput(f"task {str(task)[:40]!r} is not one of {', '.join(TASKS)}")
    columns = [c["name"] for c in stats.get("columns") or []]
    if not stats.get("rows"):
        raise InvalidInput(f"dataset {data} is empty (no rows): register a table with rows")
    classes = _check_target(data, stats, columns, target, task)
    metric = _check_metric(metric, task)
    if metric is not None and classes is not None:
        check_metric_for_classes(metric, classes)
    budget = parse_budget(time_budget)
    trials = _check_count(max_trials, "max trials (--max-trials)", 1, MAX_TRIALS, none_ok=True)
    seed = _check_count(seed, "the seed (--seed)", 0, 2**31 - 1)
    chosen = _check_estimators(estimators, task)
    experiment = check_key(experiment or f"automl-{data.split(':')[0]}", "experiment")
    compute = compute or "local"
    if not isinstance(compute, str):
        raise InvalidInput(f"compute is a target's name, got {compute!r}")
    if not isinstance(register, bool):
        raise InvalidInput(f"register is true or false, got {register!r}")
    model = check_name(model_name or _model_name(data, str(target)), "model name")
    return AutoMLSpec(data=data, target=str(target), task=str(task), metric=metric,
                      time_budget=budget, max_trials=trials, seed=seed, estimators=chosen,
                      experiment=experiment, compute=compute, register=register, model_name=model)


def _check_target(data: str, stats, columns: list[str], target: object,
                  task: object) -> int | None:
    """Check the target column for the task; return its number of classes for classification
    when the version's statistics tell it (the distinct numbers, or every text value kept),
    else None."""
    if not isinstance(target, str) or target not in columns:
        shown = ", ".join(columns[:30]) + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")
        raise InvalidInput(f"dataset {data} has no column {str(target)[:80]!r}: its columns are "
                           f"{shown}; give one of them as --target")
    if len(columns) < 2:
        raise InvalidInput(f"dataset {data} has only the column {target!r}: a model needs at least "
                           "one feature column beside the target")
    feature = next(f for f in stats.get("features") or [] if f["name"] == target)
    kind = feature.get("kind")
    if kind == "empty" or not feature.get("count"):
        raise InvalidInput(f"target column {target!r} holds no values: give a column with values")
    one_value = (feature.get("min") == feature.get("max") if kind == "numeric" else
                 len([k for k in feature.get("fractions", {}) if k != "__other__"]) == 1
                 and not feature["fractions"].get("__other__"))
    if one_value:
        raise InvalidInput(f"target column {target!r} holds a single value: there is nothing to "
                           "learn; give a column with at least two classes or values")
    if task == "regression" and kind != "numeric":
        values = [k for k in feature.get("fractions", {}) if k != "__other__"][:3]
        raise InvalidInput(f"target column {target!r} holds text (e.g. {', '.join(map(repr, values))}): "
                           "regression needs numbers; use --task classification")
    if task != "classification":
        return None
    if kind == "numeric":
        classes = feature.get("distinct")  # None in statistics kept before it was counted
        rows = int(feature["count"])
        if classes is not None and classes > MAX_CLASSES_SHARE * rows and classes > 20:
            raise InvalidInput(f"target column {target!r} holds {classes} different numbers in "
                               f"{rows} rows: a class needs rows to learn from; use --task "
                               "regression to predict a number")
        return classes
    fractions = feature.get("fractions") or {}
    return None if fractions.get("__other__") else len([k for k in fractions if k != "__other__"])


def _check_metric(metric: object, task: str) -> str | None:
    if metric in (None, "", "auto"):
        return None
    if metric not in METRICS[task]:
        raise InvalidInput(f"metric {str(metric)[:40]!r} is not one of FLAML's {task} metrics: "
                           f"{', '.join(METRICS[task])}")
    return str(metric)


def _check_count(value: object, what: str, low: int, high: int, none_ok: bool = False) -> int | None:
    if value is None and none_ok:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high}, got {value!r:.40}")
    return value


def _check_estimators(estimators: object, task: str) -> tuple[str, ...]:
    if estimators in (None, "", "auto"):
        return ()
    names = estimators.split(",") if isinstance(estimators, str) else estimators
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("estimators is a list of FLAML estimator names, e.g. lgbm,rf,xgboost")
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in names if n not in ESTIMATORS[task]]
    if unknown:
        raise InvalidInput(f"unknown estimator{'s' if len(unknown) > 1 else ''} "
                           f"{', '.join(map(repr, unknown[:5]))} for {task}: FLAML knows "
                           f"{', '.join(ESTIMATORS[task])}")
    if "catboost" in names:
        import importlib.util

        if importlib.util.find_spec("catboost") is None:
            raise InvalidInput("estimator 'catboost' needs the catboost package: pip install "
                               "catboost, or leave it out")
    return names


def _model_name(data: str, target: str) -> str:
    """``DATASET-TARGET`` as a valid model name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{data.split(':')[0]}-{target}").strip("-.")
    return name[:100] or "automl-model"
