"""Which packages a notebook imports, and a drift summed up by them: of the packages in which a
target's environment differs from the kernel's, the ones the notebook's code imports matter
most (a run fails without them); the rest are listed, not shouted.

The modules are read from the notebook's code cells without running them (``import x``,
``from x.y import z``; IPython's ``%`` and ``!`` lines skipped; a cell that does not parse is
read line by line).  A module is matched to its distribution through this interpreter's
``importlib.metadata.packages_distributions()`` (``sklearn`` -> ``scikit-learn``) and by name
(``numpy`` -> ``numpy``): a package the kernel has but this interpreter lacks is matched by
name only.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Iterable

from .installed import cached
from .spec import Difference

#: ``import a, b`` / ``from a.b import c`` at the start of a line (a cell that does not parse)
_IMPORT = re.compile(r"^\s*(?:import\s+(?P<names>[\w.,\s]+?)\s*(?:#.*)?$|from\s+(?P<module>\w[\w.]*)\s+import\b)")
#: how many imported packages a summary names before "…"
NAMED = 5


def canonical(name: str) -> str:
    """A distribution's name as the environments compare them (PEP 503: ``Scikit_Learn`` ->
    ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def notebook_modules(path: str | Path) -> set[str]:
    """The top-level modules the code cells of the notebook at ``path`` import (empty when it
    cannot be read: a summary then names none)."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return set()
    modules: set[str] = set()
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            modules |= _modules("".join(source) if isinstance(source, list) else str(source))
    return modules


def _modules(code: str) -> set[str]:
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return {_top(name) for line in lines if (m := _IMPORT.match(line))
                for name in ([m["module"]] if m["module"] else m["names"].split(","))
                if name.strip()}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {_top(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(_top(node.module))
    return found


def _top(dotted: str) -> str:
    return dotted.strip().split(" ")[0].split(".")[0]


def imported(packages: Iterable[str], modules: set[str]) -> list[str]:
    """The ``packages`` (distribution names) that provide one of ``modules``, sorted."""
    provided = {canonical(m) for m in modules}
    distributions = module_distributions()  # once: it reads every distribution's files
    for module in modules:
        provided |= {canonical(d) for d in distributions.get(module, ())}
    return sorted(p for p in packages if canonical(p) in provided)


@cached
def module_distributions() -> dict[str, list[str]]:
    """``importlib.metadata.packages_distributions()`` (top-level module -> distributions), read
    again only once a distribution was installed or removed here (:mod:`.installed`)."""
    from importlib.metadata import packages_distributions

    return packages_distributions()


def summary(difference: Difference, notebook: str | Path) -> tuple[str, list[str]]:
    """``difference`` in one sentence, and the differing packages the notebook imports:
    ``Python 3.11 in the kernel, 3.12 on the target; 19 packages differ (2 the notebook
    imports: numpy, pandas)``."""
    names = [n for n, *_ in (*difference.missing, *difference.different, *difference.extra)]
    used = imported(names, notebook_modules(notebook)) if names else []
    parts = []
    if difference.python:
        parts.append(f"Python {difference.python[0]} in the kernel, {difference.python[1]} on the target")
    if names:
        count = f"{len(names)} package{'s' if len(names) != 1 else ''} differ{'s' if len(names) == 1 else ''}"
        shown = ", ".join(used[:NAMED]) + (", …" if len(used) > NAMED else "")
        parts.append(f"{count} ({len(used)} the notebook imports: {shown})" if used else
                     f"{count} (none the notebook imports)")
    return "; ".join(parts), used


def summed_up(result: dict, notebook) -> dict:
    """``result`` (a :meth:`.service.EnvironmentService.diff` answer) with its ``summary`` and the
    differing packages the notebook imports (``imported``) when it tells of a drift; its
    ``lines`` then list those packages first in each kind, said so (what every face shows: the
    form's list, ``mlws run submit``'s warning)."""
    if result["state"] == "none":
        return {**result, "summary": result["lines"][0], "imported": []}
    if result["state"] != "differs" or not result.get("difference"):
        return result  # the same, or (a host's own Python) not known: its lines say it
    d = result["difference"]
    difference = Difference(python=tuple(d["python"]) if d["python"] else None,
                            missing=[(m["name"], m["version"]) for m in d["missing"]],
                            different=[(m["name"], m["kernel"], m["target"]) for m in d["different"]],
                            extra=[(m["name"], m["version"]) for m in d["extra"]])
    text, used = summary(difference, notebook)
    # the lines before and after the difference's own (a host's Python's heading, a warning)
    lines, own = list(result["lines"]), difference.lines()
    at = next((i for i in range(len(lines)) if lines[i:i + len(own)] == own), None)
    if at is not None:
        lines[at:at + len(own)] = difference.lines(first=used)
    return {**result, "summary": text, "imported": used, "lines": lines}
