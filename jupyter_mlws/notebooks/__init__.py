"""Notebooks executed as experiments.

- :mod:`.service`: submit, re-run, sweep and promote (records each run and its job);
- :mod:`.job`: the serialisable job spec a compute target is handed;
- :mod:`.reporter`: what an executor reports through (the local one writes the store);
- :mod:`.executor`, :mod:`.engine`, :mod:`.sweep`: execution with Papermill;
- :mod:`.parameters`, :mod:`.document`, :mod:`.template`, :mod:`.promote`: the parts.

The names below are re-exported for callers that read notebooks without running them.
"""

from .document import check_local, load_notebook
from .parameters import declared_parameters, parameter_defaults, recorded_parameters

__all__ = ["check_local", "load_notebook", "declared_parameters", "parameter_defaults",
           "recorded_parameters"]
