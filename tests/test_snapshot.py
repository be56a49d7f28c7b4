import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from jupyter_mlws import snapshot
from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.snapshot import GitInfo, collect, git_info


def make(root, files):
    """Create files from {relative path: content}."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def paths(root, **kwargs):
    return [f.path for f in collect(root, **kwargs)]


def test_collect_basic_fields_and_order(tmp_path):
    make(tmp_path, {"b.py": "bb", "a/x.py": "x", "a.txt": "aaa"})
    files = collect(tmp_path)
    assert [f.path for f in files] == ["a.txt", "a/x.py", "b.py"]
    assert files[0].size == 3
    assert files[1].abspath == os.path.join(os.path.realpath(tmp_path), "a", "x.py")
    assert pathlib.Path(files[1].abspath).read_text() == "x"


def test_collect_accepts_str_root(tmp_path):
    make(tmp_path, {"a.py": ""})
    assert paths(str(tmp_path)) == ["a.py"]


def test_collect_missing_root(tmp_path):
    with pytest.raises(InvalidInput, match="not a folder"):
        collect(tmp_path / "nope")


def test_collect_skips_builtin_dirs(tmp_path):
    make(
        tmp_path,
        {
            "main.py": "",
            ".git/config": "",
            "pkg/__pycache__/m.pyc": "",
            "nb/.ipynb_checkpoints/n.ipynb": "",
            ".venv/pyvenv.cfg": "",
            ".venv/lib/site.py": "",
            "venv/pyvenv.cfg": "",
            "env/pyvenv.cfg": "",
            "env/lib/x.py": "",
            "venv2/not_a_venv.py": "",
            "outputs/model.bin": "",
            "sub/outputs/kept.txt": "",
            ".mlws/whatever": "",
        },
    )
    assert paths(tmp_path) == ["main.py", "sub/outputs/kept.txt", "venv2/not_a_venv.py"]


def test_collect_skips_git_file_of_worktree(tmp_path):
    make(tmp_path, {".git": "gitdir: /elsewhere", "a.py": ""})
    assert paths(tmp_path) == ["a.py"]


def test_collect_gitignore(tmp_path):
    make(
        tmp_path,
        {
            ".gitignore": "*.log\nbuild/\n/top.txt\n!keep.log\n",
            "a.py": "",
            "x.log": "",
            "keep.log": "",
            "build/out.o": "",
            "top.txt": "",
            "sub/top.txt": "",
            "sub/y.log": "",
            "sub/build/z.o": "",
        },
    )
    assert paths(tmp_path) == [".gitignore", "a.py", "keep.log", "sub/top.txt"]


def test_collect_nested_gitignore_is_relative_to_its_dir(tmp_path):
    make(
        tmp_path,
        {
            ".gitignore": "*.tmp\n",
            "sub/.gitignore": "/data\n!important.tmp\n",
            "data/root.csv": "",
            "sub/data/x.csv": "",
            "sub/deeper/data/y.csv": "",
            "sub/important.tmp": "",
            "sub/other.tmp": "",
            "important.tmp": "",
            "other/.gitignore": "*\n",
            "other/gone.py": "",
        },
    )
    assert paths(tmp_path) == [
        ".gitignore",
        "data/root.csv",
        "sub/.gitignore",
        "sub/deeper/data/y.csv",
        "sub/important.tmp",
    ]


def test_collect_prunes_ignored_dirs_without_reading_them(tmp_path, monkeypatch):
    make(tmp_path, {".gitignore": "data/\n", "data/a/b.csv": "", "a.py": ""})
    scanned = []
    real_scan = snapshot._scan
    monkeypatch.setattr(snapshot, "_scan", lambda p: scanned.append(p) or real_scan(p))
    assert paths(tmp_path) == [".gitignore", "a.py"]
    assert all("data" not in p for p in scanned)


def test_collect_mlwsignore_with_negation(tmp_path):
    make(
        tmp_path,
        {
            ".gitignore": "*.csv\n",
            ".mlwsignore": "data/*\n!data/small.csv\n*.bin\n!keep.bin\n",
            "data/big.parquet": "",
            "data/small.csv": "",
            "data/other.csv": "",
            "w.bin": "",
            "keep.bin": "",
            "sub/.mlwsignore": "*.py\n",  # only the root one counts
            "sub/a.py": "",
        },
    )
    assert paths(tmp_path) == [
        ".gitignore",
        ".mlwsignore",
        "data/small.csv",
        "keep.bin",
        "sub/.mlwsignore",
        "sub/a.py",
    ]


def test_collect_skips_nested_workspace(tmp_path):
    make(
        tmp_path,
        {
            "train.py": "",
            "ws/mlws.toml": "",
            "ws/mlws.db": "",
            "ws/artifacts/r/model.pkl": "",
            "deep/er/mlws.toml": "",
            "deep/er/notes.txt": "",
            "deep/kept.py": "",
        },
    )
    assert paths(tmp_path) == ["deep/kept.py", "train.py"]


def test_collect_root_that_is_a_workspace(tmp_path):
    make(
        tmp_path,
        {
            "mlws.toml": "",
            "mlws.db": "",
            "mlws.db-wal": "",
            "artifacts/r/m.pkl": "",
            "live/r.jsonl": "",
            "train.py": "",
            "src/artifacts/kept.py": "",
        },
    )
    assert paths(tmp_path) == ["src/artifacts/kept.py", "train.py"]


def test_collect_symlinks(tmp_path):
    root = tmp_path / "proj"
    outside = tmp_path / "outside"
    make(root, {"a.py": "a", "dir/b.py": "b"})
    make(outside, {"secret.txt": "s"})
    (root / "in_file").symlink_to(root / "a.py")
    (root / "in_dir").symlink_to(root / "dir")
    (root / "out_file").symlink_to(outside / "secret.txt")
    (root / "out_dir").symlink_to(outside)
    (root / "sibling").symlink_to(tmp_path / "proj2")  # sibling prefix, dangling
    (tmp_path / "proj2").mkdir()
    (tmp_path / "proj2" / "x").write_text("x")
    (root / "broken").symlink_to(root / "missing")
    (root / "loop").symlink_to(root / "loop")
    assert paths(root) == ["a.py", "dir/b.py", "in_file"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_collect_skips_special_files(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    make(tmp_path, {"a.py": ""})
    assert paths(tmp_path) == ["a.py"]


def test_collect_byte_limit_message(tmp_path):
    make(
        tmp_path,
        {
            "data/a.bin": b"x" * 600_000,
            "data/b.bin": b"x" * 500_000,
            "model.pt": b"x" * 300_000,
            "src/train.py": b"x" * 1000,
            "zz.bin": b"x" * 100_000,
        },
    )
    with pytest.raises(InvalidInput) as info:
        collect(tmp_path, max_bytes=1024 * 1024)
    message = str(info.value)
    # stops at the first file past the limit; '1 MB > 1 MB' would say nothing
    assert "too large: the files found so far total 1,100,000 bytes > 1,048,576 bytes." in message
    assert (
        "The largest seen: data/ (1 MB, 2 files), data/a.bin (585.9 KB), "
        "data/b.bin (488.3 KB). Add" in message
    )
    assert ".mlwsignore" in message
    assert "snapshot=False" in message
    assert str(tmp_path) not in message


def test_collect_byte_limit_lists_inside_folders(tmp_path):
    make(
        tmp_path,
        {
            "project/big/a.bin": b"x" * 400_000,
            "project/big/b.bin": b"x" * 400_000,
            "project/deep/er/huge.bin": b"x" * 900_000,
            "project/src.py": b"x",
        },
    )
    with pytest.raises(InvalidInput) as info:
        collect(tmp_path, max_bytes=1_500_000)
    message = str(info.value)
    assert "the files found so far total 1.6 MB > 1.4 MB." in message
    assert "project/ (1.6 MB, 3 files), project/deep/er/huge.bin (878.9 KB), " in message
    assert "project/big/ (781.2 KB, 2 files)" in message
    assert "project/deep/ (" not in message  # a pass-through folder says nothing


def test_collect_file_limit_message(tmp_path):
    make(tmp_path, {f"node_modules/p{i}/index.js": "" for i in range(30)})
    make(tmp_path, {"main.py": ""})
    with pytest.raises(InvalidInput) as info:
        collect(tmp_path, max_files=10)
    message = str(info.value)
    assert "too many files: more than 10 found." in message
    assert "node_modules/ (0 B, 10 files)" in message
    assert ".mlwsignore" in message


def test_collect_limits_are_inclusive(tmp_path):
    make(tmp_path, {"a": b"x" * 10, "b": b"x" * 10})
    assert len(collect(tmp_path, max_bytes=20, max_files=2)) == 2


def test_collect_lists_at_most_five(tmp_path):
    make(tmp_path, {f"f{i}.bin": b"x" * (1000 + i) for i in range(10)})
    with pytest.raises(InvalidInput) as info:
        collect(tmp_path, max_bytes=9000)
    listed = str(info.value).split("largest seen: ")[1].split(". Add")[0]
    assert listed.split(", ") == [f"f{i}.bin ({1000 + i} B)" for i in (8, 7, 6, 5, 4)]


@pytest.mark.parametrize(
    "size, text",
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (300 * 1024 * 1024, "300 MB"),
        (int(312.4 * 1024 * 1024), "312.4 MB"),
        (5 * 1024**4, "5120 GB"),
    ],
)
def test_human_sizes(size, text):
    assert snapshot._human(size) == text


def test_collect_keeps_every_file_of_many_packages_with_their_own_ignores(tmp_path):
    # how long this takes is measured in bench/snapshot.py, never here
    make(tmp_path, {".gitignore": "*.log\nbuild/\n", ".mlwsignore": "*.tmp\n"})
    for d in range(40):
        make(tmp_path, {f"pkg{d}/.gitignore": "*.pyc\n", f"pkg{d}/m0.pyc": "x", f"pkg{d}/run.log": "x"})
        make(tmp_path, {f"pkg{d}/m{i}.py": "print(1)\n" for i in range(48)})
    paths = {f.path for f in collect(tmp_path)}
    assert len(paths) == 2 + 40 * 49
    assert "pkg7/m47.py" in paths and "pkg7/.gitignore" in paths
    assert not any(p.endswith((".pyc", ".log")) for p in paths)


# --- git --------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "-c",
         "commit.gpgsign=false", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    make(path, {"a.py": "1\n"})
    git(path, "add", "a.py")
    git(path, "commit", "-q", "-m", "first")
    return path


@needs_git
def test_git_info_clean(repo):
    info = git_info(repo)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert info == GitInfo(commit=head, branch="main", dirty=False, remote=None)


@needs_git
def test_git_info_untracked_code_of_the_run_is_dirty(repo):
    # the code that ran is not in the commit: "clean" would claim the commit gives it back
    make(repo, {"wine/train.py": "", "other/scratch.py": ""})
    assert git_info(repo / "wine").dirty is True
    assert git_info(repo).dirty is True
    make(repo, {".gitignore": "wine/\nother/\n"})
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore")
    assert git_info(repo / "wine").dirty is False  # ignored files are not the run's source


@needs_git
def test_git_info_untracked_elsewhere_outputs_and_workspace_are_not_dirty(repo):
    make(repo, {"src/a.py": ""})
    git(repo, "add", "src/a.py")
    git(repo, "commit", "-q", "-m", "src")
    make(repo, {"scratch/x.py": "", "src/outputs/model.json": "{}", "src/mlws.toml": "",
                "src/mlws.db": "", "src/artifacts/b": "", "src/.mlws/known_hosts": ""})
    assert git_info(repo / "src").dirty is False
    make(repo, {"src/b.py": ""})
    assert git_info(repo / "src").dirty is True


@needs_git
def test_git_info_dirty_modified_and_staged(repo):
    make(repo, {"a.py": "2\n"})
    assert git_info(repo).dirty is True
    git(repo, "add", "a.py")
    assert git_info(repo).dirty is True


@needs_git
def test_git_info_from_subfolder_and_file(repo):
    make(repo, {"sub/x.py": ""})
    assert git_info(repo / "sub").branch == "main"
    assert git_info(str(repo / "a.py")).branch == "main"


@needs_git
def test_git_info_detached_and_empty(repo, tmp_path):
    git(repo, "checkout", "-q", "--detach")
    info = git_info(repo)
    assert info.branch is None and info.commit
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "dev")
    assert git_info(empty) == GitInfo(commit=None, branch="dev", dirty=False, remote=None)


@needs_git
@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://user:s3cret@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://ghp_token@github.com/o/r.git", "https://github.com/o/r.git"),
        ("ssh://git:pw@host:22/o/r.git", "ssh://git@host:22/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
    ],
)
def test_git_info_remote_without_credentials(repo, url, expected):
    git(repo, "remote", "add", "origin", url)
    assert git_info(repo).remote == expected


@needs_git
def test_git_info_not_a_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_info(tmp_path) is None
    assert git_info(tmp_path / "missing") is None


def test_git_info_without_git(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_info(tmp_path) is None


@needs_git
def test_git_info_status_timeout_keeps_commit(repo, monkeypatch):
    real_run = subprocess.run

    def slow_status(cmd, **kwargs):
        if "status" in cmd:
            raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout"))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(snapshot.subprocess, "run", slow_status)
    info = git_info(repo)
    assert info.branch == "main" and info.commit and info.dirty is None


def test_import_is_light():
    code = "import sys, jupyter_mlws.snapshot, jupyter_mlws.fsutil; print('pathspec' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        check=True,
    ).stdout
    assert out.strip() == "False"
