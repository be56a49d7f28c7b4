"""A notebook run as a job: everything an executor needs, serialisable, no database in sight.

The service records a submission as a ``notebook_runs`` row and hands a compute target the
job; the executor, wherever it runs, reads the job (locally: by its run id, through its
reporter) and executes it.  ``to_dict``/``from_dict`` carry it over any wire as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Mapping


@dataclass
class NotebookJob:
    """How a notebook run executes.

    Attributes
    ----------
    run_id : str
        The run it executes (recorded ``queued`` by submit).
    notebook : str
        The notebook's path inside ``workdir`` (``/``-separated).
    workdir : str
        The folder it runs in (the project, or the run's own copy of its snapshot).
    kernel : str
        The kernel's name, resolved at submit.
    parameters : dict
        Injected after the ``parameters`` cell (JSON values).
    timeout : float or None
        Seconds a cell may run; None: no limit.
    retries : int
        Attempts after a failed one (0-10).
    output : str or None
        A path template inside the workspace for a copy of the executed notebook.
    scratch : bool
        ``workdir`` is the run's own copy (a sweep child's, a rerun's): removed at the end.
    """

    kind: ClassVar[str] = "notebook"

    run_id: str
    notebook: str
    workdir: str
    kernel: str
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    retries: int = 0
    output: str | None = None
    scratch: bool = False

    @property
    def path(self) -> Path:
        """The notebook file the run executes."""
        return Path(self.workdir) / self.notebook

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NotebookJob":
        """The job of :meth:`to_dict` (unknown keys, such as a stored row's counters, ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class SweepJob:
    """A sweep: its parent run, whose queued children are executed ``max_parallel`` at a time."""

    kind: ClassVar[str] = "sweep"

    run_id: str
    max_parallel: int = 2

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SweepJob":
        return cls(d["run_id"], int(d.get("max_parallel", 2)))
