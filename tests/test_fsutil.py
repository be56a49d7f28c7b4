import os
import pathlib

import pytest

from jupyter_mlws import fsutil as artifact_names
from jupyter_mlws.fsutil import atomic_copy, atomic_write, safe_join, validate_name
from jupyter_mlws.errors import InvalidInput


@pytest.mark.parametrize(
    "name, expected",
    [
        ("model.pkl", "model.pkl"),
        ("out/model.pkl", "out/model.pkl"),
        ("./a/./b", "a/b"),
        ("a//b", "a/b"),
        ("a/b/", "a/b"),
        ("a/.../b", "a/.../b"),
        ("..a/b..", "..a/b.."),
        ("a%20b.txt", "a b.txt"),
        ("a%2Fb", "a/b"),
        ("100%done", "100%done"),
        ("dé/ünï.txt", "dé/ünï.txt"),
        ("C/x", "C/x"),
        ("a/C:/x", "a/C:/x"),
        ("x" * 255, "x" * 255),
    ],
)
def test_validate_name_accepts_and_normalises(name, expected):
    assert validate_name(name) == expected
    assert validate_name(expected) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "./",
        "//",
        "a\x00b",
        "a\nb",
        "a\tb",
        "a\x7fb",
        "a\x85b",
        "a\udcffb",
        "/abs",
        "/etc/passwd",
        "//server/share",
        "C:\\x",
        "C:/x",
        "c:x",
        "a\\..\\b",
        "a\\b",
        "..",
        "../x",
        "a/../b",
        "a/..",
        "./../x",
        "%2e%2e/x",
        "%2E%2E/x",
        "%252e%252e/x",
        "%25252e%25252e/x",
        "a/%2e%2e/b",
        "%2fetc/passwd",
        "%5c..%5cx",
        "a%00b",
        "%C3%28",
        "x" * 1025,
        "y" * 256,
        "a/" + "é" * 128,
    ],
)
def test_validate_name_rejects(name):
    with pytest.raises(InvalidInput) as info:
        validate_name(name)
    message = str(info.value)
    assert "'out/model.pkl'" in message
    if len(name) <= 80:
        assert repr(name) in message


def test_validate_name_limits_are_exact():
    assert validate_name("a/" * 511 + "bb") == "a/" * 511 + "bb"  # 1024 chars
    assert validate_name("é" * 127) == "é" * 127  # 254 bytes


def test_validate_name_rejects_non_strings():
    with pytest.raises(InvalidInput, match="expected a string"):
        validate_name(b"out/model.pkl")


def test_validate_name_shortens_long_names_in_message():
    with pytest.raises(InvalidInput) as info:
        validate_name("z" * 5000)
    assert len(str(info.value)) < 300


def test_validate_name_rejects_endless_encoding():
    name = "%2e"
    for _ in range(20):
        name = name.replace("%", "%25")
    with pytest.raises(InvalidInput, match="nested"):
        validate_name(name)


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "artifacts"
    path.mkdir()
    return path


def test_safe_join_inside(root):
    assert safe_join(root, "out/model.pkl") == root.resolve() / "out" / "model.pkl"
    assert safe_join(str(root), "./a//b") == root.resolve() / "a" / "b"


def test_safe_join_root_need_not_exist(tmp_path):
    assert safe_join(tmp_path / "missing", "x") == tmp_path.resolve() / "missing" / "x"


@pytest.mark.parametrize("name", ["../artifacts2/x", "../x", "/abs", "%2e%2e/artifacts2/x"])
def test_safe_join_rejects_invalid_names(root, name):
    (root.parent / "artifacts2").mkdir()
    with pytest.raises(InvalidInput):
        safe_join(root, name)


def test_safe_join_sibling_prefix_through_symlink(root):
    sibling = root.parent / "artifacts2"
    sibling.mkdir()
    (sibling / "secret").write_text("s")
    (root / "link").symlink_to(sibling)
    with pytest.raises(InvalidInput, match="outside"):
        safe_join(root, "link/secret")


def test_safe_join_sibling_prefix_with_trailing_slash_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "root2").mkdir()
    (root / "esc").symlink_to(tmp_path / "root2")
    with pytest.raises(InvalidInput):
        safe_join(str(root) + "/", "esc/file")


def test_safe_join_symlink_escape(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("x")
    (root / "data").symlink_to(outside)
    (root / "file").symlink_to(outside / "passwd")
    with pytest.raises(InvalidInput) as info:
        safe_join(root, "data/passwd")
    assert str(tmp_path) not in str(info.value)
    with pytest.raises(InvalidInput):
        safe_join(root, "file")


def test_safe_join_symlink_to_root_itself(root):
    (root / "self").symlink_to(root)
    with pytest.raises(InvalidInput, match="itself"):
        safe_join(root, "self")


def test_safe_join_symlink_inside_root_is_fine(root):
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real")
    assert safe_join(root, "alias/x") == root.resolve() / "real" / "x"


def test_safe_join_symlinked_root(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    assert safe_join(tmp_path / "alias", "x") == real.resolve() / "x"


def _leftovers(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_bytes_creates_parents(tmp_path):
    target = tmp_path / "a" / "b" / "f.bin"
    assert atomic_write(target, b"hello") == 5
    assert target.read_bytes() == b"hello"
    assert _leftovers(target.parent) == []


def test_atomic_write_chunks_and_replace(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old content")
    before = os.stat(target).st_ino
    assert atomic_write(str(target), (c for c in [b"ne", b"w"])) == 3
    assert target.read_bytes() == b"new"
    assert os.stat(target).st_ino != before  # a new file renamed over the old one
    assert _leftovers(tmp_path) == []


def test_atomic_write_uses_umask_mode(tmp_path):
    target = tmp_path / "f"
    atomic_write(target, b"x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_write_error_keeps_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def chunks():
        yield b"partial"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(target, chunks())
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_atomic_write_replace_failure_cleans_up(tmp_path, monkeypatch):
    def fail(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(artifact_names.os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write(tmp_path / "f", b"x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_readers_see_old_or_new(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(pathlib.Path(dst).read_bytes())  # still the old content
        assert pathlib.Path(src).parent == tmp_path  # temp file in the same dir
        real_replace(src, dst)

    monkeypatch.setattr(artifact_names.os, "replace", spy)
    atomic_write(target, b"new")
    assert seen == [b"old"]
    assert target.read_bytes() == b"new"


def test_atomic_copy(tmp_path):
    src = tmp_path / "src.bin"
    payload = os.urandom(3 * 1024 * 1024 + 7)
    src.write_bytes(payload)
    dest = tmp_path / "out" / "dest.bin"
    assert atomic_copy(src, dest) == len(payload)
    assert dest.read_bytes() == payload
    assert _leftovers(dest.parent) == []


def test_atomic_copy_missing_source_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "nope", tmp_path / "dest")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


LONG = "/".join(["d" * 254] * 4)  # a normal folder name of 1,019 characters


@pytest.mark.parametrize("folder, name", [
    ("", "a.csv"), ("", "C:x"), ("", ".."), ("d", "a b.csv"), ("d", "a%2e"), ("d", "a\\b"),
    ("d", "."), ("d", ".."), ("d", "é.csv"), ("d", "x" * 255), ("d", "x" * 256),
    (LONG, "abcd"), (LONG, "abcde"), ("d/e", "C:x"), ("d", "tab\tx")])
def test_normal_child_never_passes_what_validate_name_would_change(folder, name):
    rel = f"{folder}/{name}" if folder else name
    try:
        unchanged = validate_name(rel) == rel
    except InvalidInput:
        unchanged = False
    if artifact_names.normal_child(folder, name):
        assert unchanged, rel  # what it passes, the full check keeps as it is
    elif name.isascii() and name.isprintable() and "%" not in name and "\\" not in name:
        assert not unchanged, rel  # plain names are told apart exactly


def test_atomic_fetch_writes_by_path_or_leaves_nothing(tmp_path):
    from jupyter_mlws.fsutil import atomic_fetch

    dest = tmp_path / "sub" / "f.bin"
    assert atomic_fetch(dest, lambda tmp: pathlib.Path(tmp).write_bytes(b"abc")) == 3
    assert dest.read_bytes() == b"abc"

    def broken(tmp):
        pathlib.Path(tmp).write_bytes(b"half")
        raise OSError("the download broke")

    with pytest.raises(OSError, match="the download broke"):
        atomic_fetch(dest, broken)
    assert dest.read_bytes() == b"abc" and os.listdir(dest.parent) == ["f.bin"]
