"""Environments: specs and their hash, real builds on the local target (uv and pip), reuse,
failures, local packages by content, pruning, drift, and the CLI.

Every build installs from a session's folder of small wheels (``wheelhouse``: --no-index
--find-links), never from the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws.cli import main
from jupyter_mlws.environments.spec import (
    EnvironmentSpec, LocalPackage, content_hash, current, diff, from_dict, from_probe,
)
from jupyter_mlws.environments.wheels import BuildOptions
from jupyter_mlws.errors import BuildFailed, Conflict, InvalidInput, NotFound

PY = "%d.%d" % sys.version_info[:2]
NOTEBOOKS = Path(__file__).parent / "notebooks"


def offline(wheelhouse, installer="auto") -> BuildOptions:
    return BuildOptions(installer=installer, find_links=(str(wheelhouse),), no_index=True)


def starts(ws) -> list[str]:
    """The builds the local target ran: its build history's start lines."""
    history = ws.root / ".mlws" / "environments" / "builds.log"
    return [line for line in history.read_text().splitlines() if " start" in line] \
        if history.exists() else []


def env_python(ws, spec) -> str:
    return ws.environments.places("local").env_python(spec.hash)


def imports(python: str, module: str) -> str:
    done = subprocess.run([python, "-c", f"import {module}; print({module}.__file__)"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def tiny_project(folder: Path, value: int = 1) -> Path:
    """A local package ``tinypkg`` built with flit_core (in the wheelhouse)."""
    (folder / "tinypkg").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "tinypkg"\nversion = "0.1.0"\ndescription = "a tiny package"\n')
    (folder / "tinypkg" / "__init__.py").write_text(f"VALUE = {value}\n")
    return folder


# -- the spec and its hash -------------------------------------------------------------------------


def test_a_spec_pins_index_packages_and_keeps_local_ones_by_content(tmp_path):
    project = tiny_project(tmp_path / "src")
    probe = {"python": "3.11.4", "distributions": [
        {"name": "six", "version": "1.16.0"},
        {"name": "tinypkg", "version": "0.1.0",
         "direct_url": {"url": project.as_uri(), "dir_info": {"editable": True}}},
        {"name": "pkg-from-git", "version": "2.0", "direct_url": {
            "url": "https://example.org/r.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}}]}
    spec = from_probe(probe)
    assert spec.python == "3.11" and spec.python_full == "3.11.4"
    assert spec.packages == ("pkg-from-git @ git+https://example.org/r.git@abc123", "six==1.16.0")
    (local,) = spec.local
    assert local.name == "tinypkg" and local.editable and local.content == content_hash(project)
    # the same source elsewhere is the same package: hashed by content, not by path
    moved = shutil.copytree(project, tmp_path / "elsewhere" / "src")
    probe["distributions"][1]["direct_url"]["url"] = moved.as_uri()
    assert from_probe(probe).hash == spec.hash
    # the order things were found in does not matter; a changed source does
    probe["distributions"].reverse()
    assert from_probe(probe).hash == spec.hash
    (moved / "tinypkg" / "__init__.py").write_text("VALUE = 2\n")
    assert from_probe(probe).hash != spec.hash
    # the JSON round trip keeps the hash, and an edited spec is refused
    assert from_dict(spec.to_dict()).hash == spec.hash
    with pytest.raises(InvalidInput, match="does not match"):
        from_dict({**spec.to_dict(), "packages": ["six==1.17.0"]})
    with pytest.raises(InvalidInput, match="major.minor"):
        from_dict({"python": "three", "packages": []})
    with pytest.raises(InvalidInput, match="name==version"):
        from_dict({"python": "3.11", "packages": ["six>=1"]})


def test_the_hash_is_stable_across_processes():
    code = "from jupyter_mlws.environments.spec import current; print(current().hash)"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == current().hash


def test_a_runs_env_hash_is_its_spec_hash(ws, tmp_path):
    notebook = shutil.copy(NOTEBOOKS / "train.ipynb", tmp_path / "train.ipynb")  # it writes outputs/
    run = ws.submit_notebook(notebook, {"epochs": 1}, wait=True, in_process=True)
    assert run.status == "completed"
    spec = ws.environments.of_run(run.id)
    assert run.tags["env_hash"] == spec.short_hash == current().short_hash
    assert spec.hash == current().hash
    # runs recorded before specs keep their tag; their packages still give a spec, with a note
    legacy = ws.experiment("old").start_run(snapshot=False, outputs=None)
    path = Path(ws.root) / "environment.json"
    path.write_text(json.dumps({"python": "3.11.2 (main)", "packages": ["six==1.16.0",
                                                                        "zope.interface==6.0"],
                                "packages_hash": "ab" * 32}))
    legacy.upload_file("environment.json", path)
    legacy.end()
    old = ws.environments.of_run(legacy.id)
    assert old.python == "3.11" and old.packages == ("six==1.16.0", "zope-interface==6.0")
    assert "before environments were specs" in old.notes[0]


# -- builds on the local target --------------------------------------------------------------------


def test_built_once_then_reused_by_another_process(ws, wheelhouse):
    spec = EnvironmentSpec(PY, ("six==1.16.0",))
    first = ws.environments.build(spec, options=offline(wheelhouse))
    assert first["state"] == "ready" and not first["reused"] and first["builds"] == 1
    assert first["installer"] == "uv" and first["size_bytes"] > 0
    assert first["path"] == f".mlws/environments/envs/{spec.hash}"  # below the workspace's folder
    assert imports(env_python(ws, spec), "six").startswith(str(ws.root / first["path"]))
    # a second build anywhere (another process: the CLI) runs no builder
    again = CliRunner().invoke(main, ["-w", ws.root, "env", "build", "--from-spec", _spec_file(ws, spec),
                                      "--no-index", "--find-links", wheelhouse])
    assert again.exit_code == 0, again.output
    assert f"environment {spec.short_hash} ready on local (reused)" in again.output
    assert len(starts(ws)) == 1
    assert ws.environments.ensure(spec, "local") == env_python(ws, spec)
    assert len(starts(ws)) == 1 and ws.environments.show(spec.short_hash)["targets"][0]["builds"] == 1


def _spec_file(ws, spec) -> Path:
    path = ws.root / f"spec-{spec.short_hash}.json"
    path.write_text(json.dumps(spec.to_dict()))
    return path


def test_concurrent_builds_of_one_hash_build_once(ws, wheelhouse):
    spec = EnvironmentSpec(PY, ("iniconfig==2.0.0",))
    results = []

    def build():
        from jupyter_mlws import Workspace

        with Workspace.open(ws.root) as other:  # each with its own connections, as processes
            results.append(other.environments.build(spec, options=offline(wheelhouse)))
    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["state"] for r in results] == ["ready", "ready"]
    assert sorted(r["reused"] for r in results) == [False, True]
    assert len(starts(ws)) == 1


def test_pip_builds_when_uv_is_not_used(ws, wheelhouse):
    spec = EnvironmentSpec(PY, ("six==1.16.0", "iniconfig==2.0.0"))
    record = ws.environments.build(spec, options=offline(wheelhouse, installer="pip"))
    assert record["state"] == "ready" and record["installer"] == "pip", record["error"]
    assert "iniconfig" in imports(env_python(ws, spec), "iniconfig")


def test_a_failed_build_names_the_package_and_leaves_nothing_built(ws, wheelhouse):
    spec = EnvironmentSpec(PY, ("six==1.16.0", "no-such-package-mlws==1.0"))
    record = ws.environments.build(spec, options=offline(wheelhouse))
    assert record["state"] == "failed" and not record["reused"]
    assert "installing the distributions failed" in record["error"]
    assert "no-such-package-mlws" in record["error"]
    assert not (ws.root / record["path"]).exists()
    assert ws.environments.list("local")[0]["state"] == "failed"
    with pytest.raises(BuildFailed, match="no-such-package-mlws"):
        ws.environments.ensure(spec, "local", options=offline(wheelhouse))
    assert ws.environments.diff(current(), "local")["state"] == "current"  # nothing ready there


def index_needing(folder: Path, wheelhouse: Path, requires_python: str) -> str:
    """A package index in ``folder`` (PEP 503, as files: ``file://`` URLs) holding the
    wheelhouse's ``six`` and ``needsnew`` 1.0, a wheel that needs ``requires_python`` (said in
    the index, as PyPI says it); the index's URL."""
    import html
    import zipfile

    files = folder / "files"
    files.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: needsnew\nVersion: 1.0\nRequires-Python: {requires_python}\n"
    content = {"needsnew/__init__.py": "", "needsnew-1.0.dist-info/METADATA": meta,
               "needsnew-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\n"
                                               "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},,\n" for name in content) + "needsnew-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(files / "needsnew-1.0-py3-none-any.whl", "w") as whl:
        for name, text in {**content, "needsnew-1.0.dist-info/RECORD": record}.items():
            whl.writestr(name, text)
    six = shutil.copy(next(wheelhouse.glob("six-*.whl")), files)
    for name, wheel, needs in (("needsnew", "needsnew-1.0-py3-none-any.whl", requires_python),
                               ("six", Path(six).name, None)):
        page = folder / "simple" / name / "index.html"
        page.parent.mkdir(parents=True)
        attr = f' data-requires-python="{html.escape(needs)}"' if needs else ""
        page.write_text(f'<html><body><a href="../../files/{wheel}"{attr}>{wheel}</a></body></html>')
    return (folder / "simple").as_uri()


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_distribution_needing_a_newer_python_release_is_named(ws, wheelhouse, tmp_path, installer):
    """The kernel's Python is a newer patch release than the target's (3.11.7 and 3.11.2, say)
    and one of its pins needs it (as soupsieve needs >=3.11.5): the build says which
    distribution needs which Python, and keeps the installer's lines whole, not from their
    middle."""
    major, minor, micro = sys.version_info[:3]
    needed = f">={major}.{minor}.{micro + 1}"
    index = index_needing(tmp_path / "index", wheelhouse, needed)
    spec = EnvironmentSpec(PY, ("needsnew==1.0", "six==1.16.0"), python_full=f"{major}.{minor}.{micro + 1}")
    record = ws.environments.build(spec, options=BuildOptions(installer=installer, index_url=index))
    assert record["state"] == "failed", record
    here = "%d.%d.%d" % sys.version_info[:3]
    lines = record["error"].splitlines()
    assert lines[0] == (f"installing the distributions failed: needsnew 1.0 needs Python {needed}; "
                        f"the environment's Python here is {here} (the kernel's is "
                        f"{major}.{minor}.{micro + 1})"), record["error"]
    assert lines[1].startswith(f"Install a Python {PY} release it takes on the target"), lines
    log = (ws.root / ".mlws" / "environments" / "logs" / f"{spec.hash}.log").read_text()
    assert lines[2:] and all(line in log.splitlines() for line in lines[2:]), lines  # whole lines
    out = CliRunner().invoke(main, ["-w", ws.root, "env", "build", "--from-spec", _spec_file(ws, spec),
                                    "--installer", installer, "--index-url", index])
    assert out.exit_code == 7 and f"needsnew 1.0 needs Python {needed}" in out.output, out.output


def test_a_local_package_is_built_from_its_source_once(ws, wheelhouse, tmp_path):
    project = tiny_project(tmp_path / "tiny")
    pkg = LocalPackage("tinypkg", "0.1.0", content_hash(project), source=str(project), editable=True)
    spec = EnvironmentSpec(PY, ("six==1.16.0",), (pkg,))
    record = ws.environments.build(spec, options=offline(wheelhouse))
    assert record["state"] == "ready", record["error"]
    assert record["local"] == ["tinypkg"]
    assert "site-packages" in imports(env_python(ws, spec), "tinypkg")  # a wheel, not the source
    # another environment with the same source takes the cached wheel
    other = EnvironmentSpec(PY, ("iniconfig==2.0.0",), (pkg,))
    assert ws.environments.build(other, options=offline(wheelhouse))["state"] == "ready"
    assert ws.environments.wheels.built == 1
    assert len(list((ws.root / ".mlws" / "wheels").glob("tinypkg-*/*.whl"))) == 1
    # a source changed since the spec was taken is refused: it would be another package
    (project / "tinypkg" / "__init__.py").write_text("VALUE = 2\n")
    changed = EnvironmentSpec(PY, (), (pkg,))
    shutil.rmtree(ws.root / ".mlws" / "wheels")
    failed = ws.environments.build(changed, options=offline(wheelhouse))
    assert failed["state"] == "failed" and "tinypkg's source changed" in failed["error"]


def test_what_is_shown_holds_no_path_of_this_machine_and_still_builds(ws, wheelhouse, tmp_path):
    """``env show --json`` / ``env list --json`` (and REST, the same records) name a local
    environment by its folder in the workspace and a local package by name, version and content,
    never where they are on this machine; the spec shown still builds (the package's wheel is in
    the workspace's cache), and without that wheel the build says what to do."""
    project = tiny_project(tmp_path / "tiny")
    pkg = LocalPackage("tinypkg", "0.1.0", content_hash(project), source=str(project), editable=True)
    spec = EnvironmentSpec(PY, ("six==1.16.0",), (pkg,))
    assert ws.environments.build(spec, options=offline(wheelhouse))["state"] == "ready"
    runner = CliRunner()
    shown = runner.invoke(main, ["-w", ws.root, "env", "show", spec.short_hash, "--json"])
    listed = runner.invoke(main, ["-w", ws.root, "env", "list", "--json"])
    for out in (shown, listed):
        assert out.exit_code == 0, out.output
        assert str(tmp_path) not in out.output, out.output  # neither the workspace nor the source
    info = json.loads(shown.output)
    assert info["targets"][0]["path"] == json.loads(listed.output)[0]["path"] \
        == f".mlws/environments/envs/{spec.hash}"
    assert info["spec"]["local"] == [{"name": "tinypkg", "version": "0.1.0", "content": pkg.content,
                                      "editable": True}]
    # the spec shown (all of 'env show --json') builds again: the wheel comes from the cache
    (tmp_path / "shown.json").write_text(shown.output)
    shutil.rmtree(ws.root / ".mlws" / "environments" / "envs" / spec.hash)
    build = ["-w", ws.root, "env", "build", "--from-spec", tmp_path / "shown.json", "--no-index",
             "--find-links", wheelhouse]
    again = runner.invoke(main, build)
    assert again.exit_code == 0 and f"environment {spec.short_hash} ready on local (built" in again.output
    assert str(tmp_path) not in again.output
    shutil.rmtree(ws.root / ".mlws" / "environments" / "envs" / spec.hash)
    shutil.rmtree(ws.root / ".mlws" / "wheels")
    failed = runner.invoke(main, build)
    assert failed.exit_code == 7
    assert "local package tinypkg 0.1.0 has no wheel in this workspace's cache" in failed.output
    assert "--from-run RUN" in failed.output


def test_prune_removes_unused_environments_only(ws, wheelhouse):
    now = [1_800_000_000.0]
    ws.environments.clock = lambda: now[0]
    old, used = EnvironmentSpec(PY, ("six==1.16.0",)), EnvironmentSpec(PY, ("iniconfig==2.0.0",))
    for spec in (old, used):
        assert ws.environments.build(spec, options=offline(wheelhouse))["state"] == "ready"
    now[0] += 31 * 86400
    assert ws.environments.build(used, options=offline(wheelhouse))["reused"]  # used today
    assert ws.environments.prune(unused_for="40d")["removed"] == []
    result = ws.environments.prune("local", unused_for="30d")
    assert [r["hash"] for r in result["removed"]] == [old.hash] and result["errors"] == []
    assert not Path(env_python(ws, old)).exists() and Path(env_python(ws, used)).exists()
    assert [r["hash"] for r in ws.environments.list()] == [used.hash]
    # pruned, it is built again when needed
    assert not ws.environments.build(old, options=offline(wheelhouse))["reused"]
    # 0s: every environment, however recently used (it said '0s' is not a duration)
    removed = ws.environments.prune(unused_for="0s")["removed"]
    assert sorted(r["hash"] for r in removed) == sorted([old.hash, used.hash])
    assert ws.environments.list() == []
    pruned = CliRunner().invoke(main, ["-w", ws.root, "env", "prune", "--unused-for", "0s"])
    assert pruned.exit_code == 0 and pruned.output == "no environment unused for 0s\n", pruned.output


def test_prune_says_what_the_download_cache_holds_and_empties_it_with_cache(ws, wheelhouse):
    """The installers' download cache outlives the environments pruned (builds share it): prune
    says how much it holds and that --cache empties it; --cache does (the JSON says it too)."""
    from jupyter_mlws.cli.environments import _size

    spec = EnvironmentSpec(PY, ("six==1.16.0",))
    assert ws.environments.build(spec, options=offline(wheelhouse))["state"] == "ready"
    cache = Path(ws.root) / ".mlws" / "environments" / "cache"
    (cache / "pip").mkdir(parents=True, exist_ok=True)  # a download, whichever installer built
    (cache / "pip" / "a-download.whl").write_bytes(b"x" * 300_000)
    held = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file() and not f.is_symlink())
    pruned = CliRunner().invoke(main, ["-w", ws.root, "env", "prune", "--compute", "local",
                                       "--unused-for", "0s"])
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.splitlines()[-1] == (f"the download cache on local holds {_size(held)} "
                                              "(downloads later builds reuse): --cache empties it")
    assert cache.is_dir()  # kept without --cache
    emptied = CliRunner().invoke(main, ["-w", ws.root, "env", "prune", "--compute", "local",
                                        "--unused-for", "0s", "--cache", "--json"])
    assert emptied.exit_code == 0, emptied.output
    assert json.loads(emptied.stdout)["cache"] == [{"target": "local", "size_bytes": held,
                                                     "cleared": True}]
    assert not cache.exists()
    again = CliRunner().invoke(main, ["-w", ws.root, "env", "prune", "--compute", "local"])
    assert again.stdout.splitlines()[-1] == "the download cache on local is empty"


def test_bad_input_is_refused_clearly(ws):
    for bad in ("30", "thirty days", "-1d", ""):
        with pytest.raises(InvalidInput, match="is not a duration: a number and a unit"):
            ws.environments.prune(unused_for=bad)
    with pytest.raises(NotFound, match="no environment abcdef123456 has been built"):
        ws.environments.show("abcdef123456")
    with pytest.raises(InvalidInput, match="is not an environment hash"):
        ws.environments.show("xyz")
    with pytest.raises(InvalidInput, match="no compute target 'mars'"):
        ws.environments.build(EnvironmentSpec(PY), "mars")
    with pytest.raises(InvalidInput, match="installer"):
        BuildOptions(installer="conda")
    runner = CliRunner()
    shown = runner.invoke(main, ["-w", ws.root, "env", "show", "abcdef123456"])
    assert shown.exit_code == 3 and "no environment abcdef123456" in shown.output
    pruned = runner.invoke(main, ["-w", ws.root, "env", "prune", "--unused-for", "soon"])
    assert pruned.exit_code == 2 and "'soon' is not a duration" in pruned.output


def test_two_hashes_with_one_prefix_are_a_conflict(ws, wheelhouse):
    from jupyter_mlws.store import schema as S

    def rows(conn):
        for h in ("abcdef" + "0" * 58, "abcdef" + "1" * 58):
            conn.execute(S.environments.insert().values(
                target="local", hash=h, spec=json.dumps(EnvironmentSpec(PY).to_dict()), state="failed",
                path="/x", builds=0, created_at=0, created_by="", updated_at=0))
    ws.db.transact(rows)
    with pytest.raises(Conflict, match="give more digits"):
        ws.environments.show("abcdef")


# -- drift ----------------------------------------------------------------------------------------


def test_drift_names_missing_and_different_distributions(ws, wheelhouse):
    kernel = EnvironmentSpec(PY, ("iniconfig==2.0.0", "six==1.17.0", "tomli==2.0.1"))
    built = EnvironmentSpec(PY, ("six==1.16.0", "iniconfig==2.0.0"))
    assert ws.environments.build(built, options=offline(wheelhouse))["state"] == "ready"
    result = ws.environments.diff(kernel, "local")
    assert result["state"] == "differs" and result["closest"] == built.hash
    assert result["lines"] == ["missing: tomli 2.0.1",
                               "different: six 1.17.0 in the kernel, 1.16.0 on the target"]
    assert ws.environments.diff(built, "local")["state"] == "same"
    other_python = diff(EnvironmentSpec("3.8", ("six==1.16.0",)), built)
    assert other_python.python == ("3.8", PY) and other_python.extra == [("iniconfig", "2.0.0")]
    # before a submission to local: quiet with no environment built, a warning with one
    shown = CliRunner().invoke(main, ["-w", ws.root, "env", "diff"])
    assert shown.exit_code == 0 and "local's closest environment" in shown.output
    assert "missing: " in shown.output
    check = ws.environments.check_submission(NOTEBOOKS / "train.ipynb", None, "local")
    assert check["state"] == "differs" and check["hash"] == current().hash


def test_no_drift_talk_for_local_without_environments(ws):
    check = ws.environments.check_submission(NOTEBOOKS / "train.ipynb", None, "local")
    assert check == {"target": "local", "hash": None, "state": "current", "closest": None,
                     "difference": None, "lines": []}
    listed = CliRunner().invoke(main, ["-w", ws.root, "env", "list"])
    assert listed.exit_code == 0 and listed.output.split() == ["HASH", "TARGET", "STATE", "PYTHON",
                                                               "PACKAGES", "SIZE", "LAST", "USED"]


def test_run_submit_warns_of_drift_and_can_skip_the_check(ws, wheelhouse, tmp_path):
    assert ws.environments.build(EnvironmentSpec(PY, ("six==1.16.0",)),
                                 options=offline(wheelhouse))["state"] == "ready"
    notebook = shutil.copy(NOTEBOOKS / "train.ipynb", tmp_path / "train.ipynb")
    refused = ["--output", "../outside/{run_name}.ipynb"]  # refused after the check, before a run
    warned = CliRunner().invoke(main, ["-w", ws.root, "run", "submit", notebook, *refused])
    assert warned.exit_code == 2 and "outside" in warned.stderr
    assert "warning: local's closest environment" in warned.stderr
    assert "warning:   missing: " in warned.stderr and "--build-env" in warned.stderr
    quiet = CliRunner().invoke(main, ["-w", ws.root, "run", "submit", notebook, "--no-env-check",
                                      *refused])
    assert quiet.exit_code == 2 and "warning" not in quiet.stderr
    assert ws.search_runs() == []


def _notebook_importing(path: Path, *modules: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("\n".join(f"import {m}" for m in modules))]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path


def test_the_drift_warning_names_the_notebooks_imports_first(ws, wheelhouse, tmp_path):
    """Of some 200 packages missing from the target's environment, the ones the notebook imports
    (``yaml`` -> pyyaml, far past the first 20 by name) come first, said so, in the summary and
    the lines, in ``mlws run submit``'s warning as in the check every face asks."""
    from importlib.metadata import version

    assert ws.environments.build(EnvironmentSpec(PY, ("six==1.16.0",)),
                                 options=offline(wheelhouse))["state"] == "ready"
    notebook = _notebook_importing(tmp_path / "nb.ipynb", "yaml", "click")
    check = ws.environments.check_submission(notebook, None, "local")
    assert check["imported"] == ["click", "pyyaml"]
    missing = [line for line in check["lines"] if line.startswith("missing: ")]
    assert missing[:2] == [f"missing: click {version('click')} (the notebook imports it)",
                           f"missing: pyyaml {version('pyyaml')} (the notebook imports it)"], missing[:3]
    assert missing[2].startswith("missing: ") and "imports" not in missing[2]
    warned = CliRunner().invoke(main, ["-w", ws.root, "run", "submit", notebook,
                                       "--output", "../outside/{run_name}.ipynb"])
    assert "(2 the notebook imports: click, pyyaml)" in warned.stderr, warned.stderr
    assert f"warning:   missing: pyyaml {version('pyyaml')} (the notebook imports it)" in warned.stderr


def test_the_drift_check_reads_this_interpreters_distributions_once(ws, wheelhouse, tmp_path,
                                                                  monkeypatch):
    """Which distribution provides which module is read once (not once per imported module, as
    it was: 1.7 s each with this venv), then again only after something was installed here."""
    import importlib.metadata

    from jupyter_mlws.environments import imports

    assert ws.environments.build(EnvironmentSpec(PY, ("six==1.16.0",)),
                                 options=offline(wheelhouse))["state"] == "ready"
    notebook = _notebook_importing(tmp_path / "nb.ipynb", "yaml", "click", "sqlalchemy", "numpy")
    reads = []
    real = importlib.metadata.packages_distributions
    monkeypatch.setattr(importlib.metadata, "packages_distributions",
                        lambda: reads.append(1) or real())
    imports.module_distributions.cache_clear()
    for _ in range(2):
        assert ws.environments.check_submission(notebook, None, "local")["imported"] == \
            ["click", "numpy", "pyyaml", "sqlalchemy"]
    assert len(reads) == 1
    site = Path(importlib.metadata.distribution("click")._path).parent  # installing touches it
    (site / "mlws-test-touch.pth").write_text("")
    try:
        ws.environments.check_submission(notebook, None, "local")
    finally:
        (site / "mlws-test-touch.pth").unlink()
    assert len(reads) == 2


def test_a_python_line_lost_from_the_installers_tail_still_explains_the_failure(tmp_path):
    """pip lists every release a Python cannot take on one line ("Ignored the following
    versions ..."), before its errors: with many releases that line is longer than the tail a
    reason keeps, and the reason still says which pin needs which Python, and keeps pip's line
    for the pinned release."""
    from jupyter_mlws.environments.build_env import REASON_TAIL, Failed, _explained, _tail

    ignored = "; ".join(f"4.{m}.{p} Requires-Python >=3.11.5" for m in range(1, 40) for p in range(4))
    versions = ", ".join(f"1.{m}.{p}" for m in range(60) for p in range(3))
    output = ("Looking in links: /wheels\nProcessing ./six-1.16.0-py2.py3-none-any.whl\n"
              f"Ignored the following versions that require a different python version: {ignored}\n"
              "ERROR: Could not find a version that satisfies the requirement soupsieve==4.1.3 "
              f"(from versions: {versions})\nERROR: No matching distribution found for soupsieve==4.1.3\n")
    assert "Ignored" not in _tail(output) and len(ignored) > REASON_TAIL  # what the old reason lost
    request = {"dest": str(tmp_path / "gone"), "python": "3.11", "python_full": "3.11.7",
               "requirements": ["soupsieve==4.1.3", "six==1.16.0"]}
    lines = _explained(Failed("installing the distributions", _tail(output), output),
                       {**request, "python": "3.11"}).splitlines()
    assert lines[0] == ("installing the distributions failed: soupsieve 4.1.3 needs Python "
                        ">=3.11.5; the environment's Python here is 3.11 (the kernel's is 3.11.7)"), lines
    assert lines[1].startswith("Install a Python 3.11 release it takes on the target")
    assert lines[2] == ("Ignored the following versions that require a different python version: "
                        "4.1.3 Requires-Python >=3.11.5; ..."), lines[2]
    assert lines[-1] == "ERROR: No matching distribution found for soupsieve==4.1.3"


def _installed_needing_python3() -> tuple[str, str, str]:
    """A distribution installed here whose Requires-Python excludes Python 3.0.0."""
    from jupyter_mlws.environments.requires import beyond, requires_python

    return beyond("3.0.0", requires_python())[0]


def test_pins_needing_a_newer_python_than_a_targets_are_told_before_a_build(ws, tmp_path):
    """The drift check of a target that would build the kernel's environment asks the target's
    Python for its release: another one than the kernel's, with pins whose Requires-Python (read
    here, from the kernel's installed distributions) excludes it, is a warning up front.  (This
    machine has one Python: the target's is a stand-in that says it is 3.0.0.)"""
    from jupyter_mlws.environments.builder import Place
    from jupyter_mlws.environments.requires import ahead, beyond, python_warning
    from jupyter_mlws.environments.shell import LocalShell

    assert beyond("3.11.2", {"soupsieve": ("4.1.3", ">=3.11.5"), "six": ("1.16.0", ">=2.7")}) == \
        [("soupsieve", "4.1.3", ">=3.11.5")]
    assert beyond("3.11.7", {"soupsieve": ("4.1.3", ">=3.11.5")}) == []
    # pins: only those at the version whose metadata is known here (any kernel's spec)
    installed = {"soupsieve": ("4.1.3", ">=3.11.5")}
    assert beyond("3.11.2", installed, ["soupsieve==4.1.3"]) == [("soupsieve", "4.1.3", ">=3.11.5")]
    assert beyond("3.11.2", installed, ["Soupsieve==4.1.3", "six==1.16.0"]) != []
    assert beyond("3.11.2", installed, ["soupsieve==4.0.0"]) == []  # another release: not known
    assert beyond("3.11.2", installed, ["soupsieve @ https://example.org/s.whl"]) == []
    name, version, needs = _installed_needing_python3()
    spec = current()
    here = spec.python_full
    assert python_warning(here, here, "box", spec.packages) is None  # the same release: nothing
    old = tmp_path / "python3"
    old.write_text("#!/bin/sh\necho 3.0.0\n")
    old.chmod(0o755)
    place = Place(LocalShell("box"), str(tmp_path / "envs"), python=str(old))
    found = ahead({"target": "box", "state": "none", "lines": ["no environment is built on box"]},
                  spec, place, kernel_here=True)
    warning = found["python_warning"]
    assert warning.startswith(f"box's Python is 3.0.0, the kernel's {here}: "), warning
    assert f"{name} {version} needs Python {needs}" in warning or " more)" in warning, warning
    assert warning.endswith("or build from a kernel whose packages take 3.0.0")
    assert found["lines"] == ["no environment is built on box", warning]
    assert ahead({"target": "box", "state": "same", "lines": []}, spec, place, True)["lines"] == []
    elsewhere = {"target": "box", "state": "none", "lines": []}  # a kernel of another interpreter
    assert ahead(elsewhere, spec, place, kernel_here=False) == elsewhere
