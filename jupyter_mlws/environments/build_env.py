"""Builds (or removes) one environment on its target: run there as ``python build_env.py REQUEST``.

Standard library only (Python 3.8+): the builder puts this file and a JSON request on the
target (:mod:`.builder`) and runs it with the target's Python, so the same steps run here and
over SSH.  The request names the environment's folder (``dest``), its lock file, the Python
``major.minor``, the pins, the local wheels (already on the target), the installer (``uv``
when it can be found, else ``python -m venv`` + pip), a cache folder, index options, and the
target's build log.

Under an exclusive ``flock`` on the lock file (the kernel releases it if this process dies):

- **build**: a folder with the ready marker is reused as it is (nothing runs); anything else
  in ``dest`` is a build that died half-way, and is removed.  Then: a venv, every pin and wheel
  installed without dependency resolution (the pins are the whole environment), and the marker
  written last, atomically (temp file, fsync, rename, fsync of the folder): a half-built
  environment is never taken as built.  A failure removes ``dest``.
- **remove**: ``dest`` goes, marker first (a prune).

The last line printed is ``MLWS-RESULT {json}``: ``state`` (ready, failed, removed), ``built``
(whether this call built it), ``reason`` (the failed step and the installer's last lines, whole;
first, when a pinned distribution needs a newer Python than the target's, which one needs which:
``soupsieve 2.7 needs Python >=3.11.5; the environment's Python here is 3.11.2``), ``size``
(bytes), ``installer``, ``python`` (the environment's interpreter), ``seconds``.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time

MARKER = ".mlws-ready"
RESULT = "MLWS-RESULT "
#: characters of an installer's output kept in a failure's reason
REASON_TAIL = 1500


class Failed(Exception):
    """A build step failed: ``step``, the tail of what it printed (``output``) and all of it
    (``whole``: what says why can be anywhere in it)."""

    def __init__(self, step, output, whole=None):
        super().__init__(step)
        self.step, self.output = step, output
        self.whole = output if whole is None else whole


def _tail(text, limit=REASON_TAIL):
    """The last lines of ``text`` (at most 25), whole, within ``limit`` characters; a last line
    longer than that alone keeps its end, from the start of a word, after "..."."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()][-25:]
    kept, size = [], 0
    for line in reversed(lines):
        if kept and size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    if kept and len(kept[0]) > limit:
        end = kept[0][-limit:]
        kept[0] = "..." + (end.split(" ", 1)[1] if " " in end else end)
    return "\n".join(reversed(kept))


#: what pip and uv say when a pinned distribution needs another Python than the venv's
_PIP_IGNORED = re.compile(r"Ignored the following versions that require a different python "
                          r"version: (.+)")
_PIP_NO_MATCH = re.compile(r"(?:No matching distribution found for|Could not find a version that "
                           r"satisfies the requirement) ([A-Za-z0-9._-]+)==([^\s;,()]+)")
_PIP_PACKAGE = re.compile(r"Package '([^']+)' requires a different Python: \S+ not in '([^']+)'")
_UV_PYTHON = re.compile(r"Python version \(\S+\) does not satisfy Python\s*(\S+?) and "
                        r"([A-Za-z0-9._-]+)==(\S+?) depends on")


def _ignored_line(output, versions):
    """pip's "Ignored the following versions that require a different python version" line,
    with only the ``versions`` named (the others elided: the line lists every release), or ""."""
    for m in _PIP_IGNORED.finditer(output):
        items = [item.strip() for item in m.group(1).split(";")]
        kept = [item for item in items if item.partition(" ")[0] in versions]
        if kept:
            more = "; ..." if len(kept) < len(items) else ""
            return ("Ignored the following versions that require a different python version: "
                    + "; ".join(kept) + more)
    return ""


def _python_needs(output):
    """``(name, version, needed)`` for each distribution the installer's ``output`` says needs
    another Python than the environment's (``needed``: its Requires-Python)."""
    found = [(m.group(2), m.group(3), m.group(1)) for m in _UV_PYTHON.finditer(output)]
    found += [(m.group(1), "", m.group(2)) for m in _PIP_PACKAGE.finditer(output)]
    ignored = {}
    for m in _PIP_IGNORED.finditer(output):
        for item in m.group(1).split(";"):
            version, _, needed = item.strip().partition(" Requires-Python ")
            ignored[version.strip()] = needed.strip()
    for m in _PIP_NO_MATCH.finditer(output):
        if m.group(2) in ignored and (m.group(1), m.group(2), ignored[m.group(2)]) not in found:
            found.append((m.group(1), m.group(2), ignored[m.group(2)]))
    return found


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pin(line):
    """``(normalized name, version)`` of a ``name==version`` pin (else ``(line, "")``)."""
    name, _, version = line.partition("==")
    return _normal(name.strip()), version.strip()


def _venv_python_version(dest):
    """The Python version of the venv at ``dest`` (its pyvenv.cfg), or ""."""
    try:
        with open(os.path.join(dest, "pyvenv.cfg"), encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    return value.strip()
    except OSError:
        pass
    return ""


def _explained(exc, request):
    """A failed step's reason: the installer's last lines, after which distribution needs which
    Python when that is why, and what to do."""
    needs = _python_needs(exc.whole) if exc.step == "installing the distributions" else []
    if not needs:
        return f"{exc.step} failed:\n{exc.output}"
    pins = dict(_pin(line) for line in request.get("requirements") or [])
    needs = [(name, version or pins.get(_normal(name), ""), needed) for name, version, needed in needs]
    have = _venv_python_version(request["dest"]) or request["python"]
    kernel = request.get("python_full") or ""
    lines = [f"{name}{' ' + version if version else ''} needs Python {needed}; the environment's "
             f"Python here is {have}" + (f" (the kernel's is {kernel})" if kernel and kernel != have
                                         else "") for name, version, needed in needs]
    lines.append(f"Install a Python {request['python']} release it takes on the target (the "
                 "target's --python names the one builds use), or build from a kernel whose "
                 "packages take this Python.")
    ignored = _ignored_line(exc.whole, {version for _, version, _ in needs})
    if ignored and ignored not in exc.output:
        lines.append(ignored)  # pip's own word for it, which the tail below may have lost
    return f"{exc.step} failed: " + "\n".join(lines) + f"\n{exc.output}"


#: variables of this process the installers never see: they would make the new environment's
#: Python (and its pip) import, and count as installed, another environment's packages
HIDDEN = ("PYTHONPATH", "PYTHONHOME")


def _run(step, argv, env, log):
    """Run one step; its output goes to the build log; Failed on a non-zero status."""
    log.write(f"$ {' '.join(argv)}\n")
    log.flush()
    base = {k: v for k, v in os.environ.items() if k not in HIDDEN}
    try:
        done = subprocess.run(argv, env={**base, **env}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        raise Failed(step, f"cannot start {argv[0]}: {exc.strerror}") from None
    output = done.stdout.decode("utf-8", "replace")
    log.write(output)
    log.flush()
    if done.returncode != 0:
        raise Failed(step, _tail(output), output)
    return output


def _uv(request):
    """The uv program to use, None for pip."""
    if request.get("installer") == "pip":
        return None
    for candidate in (request.get("uv"), shutil.which("uv"),
                      os.path.join(os.path.dirname(sys.executable), "uv")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    if request.get("installer") == "uv":
        raise Failed("finding uv", "uv is not installed on this target: pip install uv, or build "
                                   "with the pip installer")
    return None


def _base_python(version):
    """An interpreter of ``major.minor`` on this machine, for ``python -m venv``."""
    if "%d.%d" % sys.version_info[:2] == version:
        return sys.executable
    found = shutil.which("python" + version)
    if found is None:
        raise Failed("finding Python", f"Python {version} is not installed on this target "
                                       f"(no python{version} on PATH): install it, or use uv, "
                                       "which can fetch one")
    return found


def _index_args(index):
    args = []
    if index.get("index_url"):
        args += ["--index-url", index["index_url"]]
    for link in index.get("find_links") or []:
        args += ["--find-links", link]
    if index.get("no_index"):
        args.append("--no-index")
    return args


def _build(request, log):
    dest, python = request["dest"], request["python"]
    cache = request["cache"]
    reqs = os.path.join(dest, "mlws-requirements.txt")
    env_python = os.path.join(dest, "bin", "python")
    uv = _uv(request)
    installs = [*(["-r", reqs] if request["requirements"] else []), *request["wheels"]]
    if uv:
        env = {"UV_CACHE_DIR": os.path.join(cache, "uv")}
        _run("creating the venv", [uv, "venv", "--quiet", "--python", python, dest], env, log)
        _write(reqs, "".join(line + "\n" for line in request["requirements"]))
        if installs:
            _run("installing the distributions", [uv, "pip", "install", "--python", env_python,
                                                  "--no-deps", *_index_args(request["index"]),
                                                  *installs], env, log)
        return "uv"
    env = {"PIP_CACHE_DIR": os.path.join(cache, "pip"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    _run("creating the venv", [_base_python(python), "-m", "venv", dest], env, log)
    _write(reqs, "".join(line + "\n" for line in request["requirements"]))
    if installs:
        _run("installing the distributions", [env_python, "-m", "pip", "install", "--no-input",
                                              "--no-deps", *_index_args(request["index"]),
                                              *installs], env, log)
    return "pip"


def _write(path, text):
    """Write a file atomically: temp file, fsync, rename, fsync of its folder."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(folder):
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def _history(request, line):
    """One line in the target's build log (what a test counts builds by)."""
    with open(request["history"], "a", encoding="utf-8") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def build(request):
    dest = request["dest"]
    marker = os.path.join(dest, MARKER)
    if os.path.exists(marker):
        return {"state": "ready", "built": False, "size": _size(dest),
                "python": os.path.join(dest, "bin", "python")}
    if os.path.lexists(dest):
        shutil.rmtree(dest, ignore_errors=True)  # a build that died half-way
    started = time.monotonic()
    _history(request, f"build {request['hash']} start")
    with open(request["log"], "w", encoding="utf-8") as log:
        try:
            installer = _build(request, log)
        except Failed as exc:
            reason = _explained(exc, request)  # before the venv goes: it says its Python
            shutil.rmtree(dest, ignore_errors=True)
            _history(request, f"build {request['hash']} failed")
            return {"state": "failed", "built": True, "step": exc.step, "reason": reason}
    _write(marker, json.dumps({"hash": request["hash"], "installer": installer,
                               "built_at": time.time()}))
    _history(request, f"build {request['hash']} ready")
    return {"state": "ready", "built": True, "installer": installer, "size": _size(dest),
            "python": os.path.join(dest, "bin", "python"), "seconds": time.monotonic() - started}


def remove(request):
    dest = request["dest"]
    marker = os.path.join(dest, MARKER)
    if os.path.exists(marker):
        os.remove(marker)  # first: a half-removed environment is never taken as built
    shutil.rmtree(dest, ignore_errors=True)
    _history(request, f"remove {request['hash']}")
    return {"state": "removed", "built": False}


def cache(request):
    """The installers' download cache (``request["cache"]``): its size in bytes, and emptied
    with ``clear`` (the service asks only when no build runs on the target)."""
    folder = request["cache"]
    size = _size(folder) if os.path.isdir(folder) else 0
    if request.get("clear"):
        shutil.rmtree(folder, ignore_errors=True)
    return {"state": "cache", "built": False, "size": size, "cleared": bool(request.get("clear"))}


def main(path):
    with open(path, encoding="utf-8") as f:
        request = json.load(f)
    for key in ("dest", "lock", "log", "history"):
        os.makedirs(os.path.dirname(request[key]), exist_ok=True)
    with open(request["lock"], "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second build of the same hash waits here
        action = request.get("action")
        result = remove(request) if action == "remove" else cache(request) if action == "cache" \
            else build(request)
    print(RESULT + json.dumps(result), flush=True)
    return 0 if result["state"] != "failed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
