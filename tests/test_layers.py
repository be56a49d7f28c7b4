"""The layer contracts (ARCHITECTURE.md), checked on every import statement of the package.

- the core never imports Jupyter's server, tornado, IPython, ipywidgets or ipykernel, nor a face;
- ``store/`` imports nothing of the package but ``errors``, ``config`` and itself;
- faces (the server, the CLI, the widgets, the cell tracker) never import ``store/``.

Imports inside functions count as much as those at the top: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "jupyter_mlws"
FACES = ("jupyter_mlws.server", "jupyter_mlws.cli", "jupyter_mlws.widgets", "jupyter_mlws.celltracker")
OUTSIDE_THE_CORE = ("jupyter_server", "tornado", "IPython", "ipywidgets", "ipykernel", *FACES)
STORE = "jupyter_mlws.store"
STORE_MAY_USE = ("jupyter_mlws.errors", "jupyter_mlws.config", STORE)
#: the package's entry points for Jupyter (load_ipython_extension, _jupyter_server_extension_points)
ENTRY_POINTS = {"jupyter_mlws"}
#: edges the rules would refuse, each allowed for a reason
ALLOWED = {
    # mlws.log() in a notebook with no run starts the session run: it loads the cell tracker into
    # the shell it is given (the tracker imports no IPython; the shell comes from sys.modules)
    ("jupyter_mlws.context", "jupyter_mlws.celltracker"),
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str | None = None) -> set[str]:
    """Every module ``path`` (the module ``module``) imports, absolute, top-level and inside
    functions alike."""
    module = module or _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if not node.level:  # from jupyter_mlws import store: x may be a module
                found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
                continue
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            if node.module:
                found.add(".".join([*base, node.module]))
            else:  # from . import x: x may be a module
                found |= {".".join([*base, alias.name]) for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))
            if "labextension" not in p.parts and "static" not in p.parts}


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def broken_contracts(graph: dict[str, set[str]]) -> list[str]:
    """Each import that breaks a contract, as ``module -> import: rule``."""
    broken = []
    for module, imported in graph.items():
        for name in sorted(imported):
            if (module, name) in ALLOWED or module in ENTRY_POINTS:
                continue
            if not _within(module, FACES) and _within(name, OUTSIDE_THE_CORE):
                broken.append(f"{module} -> {name}: the core imports no face, Jupyter server, "
                              "tornado, IPython, ipywidgets or ipykernel")
            if _within(module, (STORE,)) and _within(name, ("jupyter_mlws",)) \
                    and not _within(name, STORE_MAY_USE):
                broken.append(f"{module} -> {name}: store/ imports only errors, config and itself")
            if _within(module, FACES) and _within(name, (STORE,)):
                broken.append(f"{module} -> {name}: faces never import store/")
    return broken


def test_the_layers_hold():
    broken = broken_contracts(_graph())
    assert not broken, "\n".join(broken)


def test_a_broken_contract_is_found():
    """The check itself can fail: a core module importing tornado, a face importing the store."""
    graph = {"jupyter_mlws.runs": {"tornado.web"}, "jupyter_mlws.cli.runs": {"jupyter_mlws.store.db"},
             "jupyter_mlws.store.db": {"jupyter_mlws.runs"}}
    assert [line.split(":")[0] for line in broken_contracts(graph)] == [
        "jupyter_mlws.runs -> tornado.web", "jupyter_mlws.cli.runs -> jupyter_mlws.store.db",
        "jupyter_mlws.store.db -> jupyter_mlws.runs"]


def test_an_absolute_from_import_of_a_module_counts(tmp_path):
    """``from jupyter_mlws import store`` in a face imports the module ``jupyter_mlws.store``."""
    source = tmp_path / "face.py"
    source.write_text("def f():\n    from jupyter_mlws import store\n")
    graph = {"jupyter_mlws.cli.face": _imports(source, "jupyter_mlws.cli.face")}
    assert broken_contracts(graph) == [
        "jupyter_mlws.cli.face -> jupyter_mlws.store: faces never import store/"]


BLOCKED = ("jupyter_server", "tornado", "IPython", "ipywidgets", "ipykernel")
CORE_WITHOUT_JUPYTER = """
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not installed here")

sys.meta_path.insert(0, Blocked())
import jupyter_mlws
ws = jupyter_mlws.Workspace.create({root!r})
with ws.experiment("e").start_run(snapshot=False) as run:
    run.log_params({{"lr": 0.1}})
    for step in range(3):
        run.log("loss", 1 / (step + 1), step=step)
ws.register_model("m", {model!r})
assert [r.id for r in ws.search_runs("metrics.loss < 1")] == [run.id]
import jupyter_mlws.notebooks, jupyter_mlws.endpoints.service, jupyter_mlws.watch
print("ok", sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r}))
"""


def test_the_core_runs_without_jupyter_server_or_ipython(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04N.")
    code = CORE_WITHOUT_JUPYTER.format(blocked=BLOCKED, root=str(tmp_path / "ws"),
                                       model=str(tmp_path / "model.pkl"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok []"


@pytest.mark.parametrize("face", ["jupyter_mlws.server.extension", "jupyter_mlws.widgets"])
def test_the_faces_are_where_jupyter_is_imported(face):
    """The other half of the contract: the Jupyter server and ipywidgets are used by faces."""
    imported = set().union(*(v for k, v in _graph().items() if _within(k, (face,))))
    assert any(_within(name, ("jupyter_server", "ipywidgets", "tornado")) for name in imported)
