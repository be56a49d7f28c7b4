"""Start-up trims for the processes jupyter_mlws owns: the ``mlws`` CLI and the notebook executor.

Never called in a process that runs the user's code (a kernel, a script using the SDK).
"""

from __future__ import annotations

import sys


def skip_iri_format_checks() -> None:
    """Let jsonschema go without its "iri" string-format checks in this process.

    Reading a notebook imports nbformat's validator, hence jsonschema, which (with the
    ``format-nongpl`` extra that Jupyter Server installs) imports ``rfc3987_syntax``: it
    builds a Lark grammar at import, about 1.5 s of CPU here, for checks of the "iri" and
    "iri-reference" formats that no notebook schema uses.  Marking the module absent
    makes jsonschema skip those two checks and nothing else.
    """
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
