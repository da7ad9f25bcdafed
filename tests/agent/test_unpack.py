"""Unpacking an artifact never writes outside the module's folder: not through `..` or absolute
paths, and not through links the archive itself creates (symlink chains, hard links through a
symlinked folder); an archive that unpacks to more than the limit is refused before the disk
fills. On every refusal nothing of it is left."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appupdater.agent import archive as agent_archive
from appupdater.agent.files import StepFailed, unpack


def tarball(path: Path, members: list[tuple]) -> Path:
    """A .tar.gz of `members`, in order: ("dir", name), ("file", name, text),
    ("sym", name, target), ("link", name, target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for kind, name, *rest in members:
            info = tarfile.TarInfo(name)
            data = None
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "file":
                data = (rest[0] if rest else "x").encode()
                info.size, info.mode = len(data), 0o644
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, rest[0]
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, rest[0]
            else:
                info.type = {"fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def snapshot(folder: Path, leave_out: Path) -> dict[str, tuple]:
    """Every path under `folder` (links not followed) but those under `leave_out`, with what
    tells a change: kind, and for others than folders size, link count (a hard link made to
    it) and link target."""
    seen = {}
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(top) / name
            if path == leave_out or leave_out in path.parents:
                continue
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):  # its size and link count follow what is inside
                seen[str(path)] = (info.st_mode,)
            else:
                target = os.readlink(path) if path.is_symlink() else None
                seen[str(path)] = (info.st_mode, info.st_size, info.st_nlink, target)
    return seen


@pytest.fixture
def device(tmp_path):
    """A sandbox with an agent's folder in it: its secrets beside the staging folder that a
    module is unpacked into."""
    root = tmp_path / "agent"
    (root / "staging").mkdir(parents=True)
    (root / "state.json").write_text('{"secret": "state"}')
    (root / "agent.token").write_text("secret-token")
    return root


def climb(destination: Path) -> int:
    """Enough `..` to reach / from `destination` (the issue's chain uses 12)."""
    return max(12, len(destination.parts))


def test_a_symlink_chain_cannot_carry_a_file_outside(tmp_path, device):
    destination = device / "staging" / "mod"
    ups = climb(destination)
    escaped = tmp_path / "escaped.txt"
    archive = tarball(
        tmp_path / "evil.tar.gz",
        [
            ("sym", "s", "."),
            ("sym", "/".join(["s"] * ups) + "/up", "/".join([".."] * ups)),
            ("file", "up/" + str(escaped).lstrip("/"), "pwned"),
        ],
    )
    before = snapshot(tmp_path, destination)
    with pytest.raises(StepFailed, match="through the link s") as refused:
        unpack(archive, destination, what="mod 1.0")
    assert str(refused.value).startswith("mod 1.0 is refused: ")
    assert not escaped.exists()
    assert not destination.exists()
    assert snapshot(tmp_path, destination) == before


def test_a_hard_link_through_a_symlinked_folder_cannot_reach_the_agents_files(tmp_path, device):
    destination = device / "staging" / "mod"
    archive = tarball(
        tmp_path / "evil.tar.gz",
        [
            ("sym", "s", "."),
            ("sym", "s/s/up", "../.."),  # textually inside; really the agent's folder
            ("link", "state.json", "up/state.json"),
            ("link", "token", "up/agent.token"),
        ],
    )
    before = snapshot(tmp_path, destination)
    with pytest.raises(StepFailed, match="refused"):
        unpack(archive, destination, what="mod 1.0")
    assert (device / "state.json").stat().st_nlink == 1
    assert (device / "agent.token").stat().st_nlink == 1
    assert not destination.exists()
    assert snapshot(tmp_path, destination) == before


def test_a_link_whose_target_passes_through_another_link_is_checked_for_real(tmp_path):
    """`a -> b/b/b/../..` looks inside, but with `b -> .` it leads two folders up; the
    order in the archive does not matter."""
    for order in (
        [("sym", "b", "."), ("sym", "a", "b/b/b/../..")],
        [
            ("sym", "a", "b/b/b/../.."),
            ("sym", "b", "."),
        ],
    ):
        destination = tmp_path / "mod"
        archive = tarball(tmp_path / "chain.tar.gz", order)
        with pytest.raises(StepFailed, match="the link a points outside its folder"):
            unpack(archive, destination, what="mod 1.0")
        assert not destination.exists()


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([("file", "../escaped.txt")], "climbs out with '..'"),
        ([("file", "a/../../escaped.txt")], "climbs out with '..'"),
        ([("file", "/tmp/absolute-escape.txt")], "absolute path"),
        ([("sym", "abs", "/etc/passwd")], "points outside its folder"),
        ([("sym", "up", "../outside")], "points outside its folder"),
        ([("dir", "d"), ("sym", "d/up", "../../outside")], "points outside its folder"),
        ([("file", "f"), ("link", "h", "/etc/passwd")], "points outside its folder"),
        ([("file", "f"), ("link", "h", "../f")], "points outside its folder"),
        ([("link", "h", "missing")], "not a file unpacked before it"),
        ([("sym", "s", "."), ("link", "h", "s")], "not a file unpacked before it"),
        ([("dir", "d"), ("file", "d/f"), ("sym", "l", "d"), ("file", "l/g")], "the link l"),
        ([("sym", "l", "d"), ("dir", "d"), ("file", "l/g")], "the link l"),
        ([("file", "f"), ("file", "f/g")], "inside f, which is not a folder"),
        ([("sym", "x", "a"), ("file", "x")], "appears twice"),
        ([("fifo", "pipe")], "device file or a pipe"),
        ([("chr", "null")], "device file or a pipe"),
    ],
)
def test_unsafe_members_are_refused_and_nothing_is_left(tmp_path, members, why):
    destination = tmp_path / "mod"
    archive = tarball(tmp_path / "evil.tar.gz", members)
    with pytest.raises(StepFailed, match=r"^mod 1\.0 is refused: ") as refused:
        unpack(archive, destination, what="mod 1.0")
    assert why in str(refused.value)
    assert not destination.exists()
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute-escape.txt").exists()


def test_an_ordinary_tree_with_links_inside_unpacks(tmp_path):
    destination = tmp_path / "mod"
    archive = tarball(
        tmp_path / "ok.tar.gz",
        [
            ("dir", "./"),
            ("dir", "./bin"),
            ("file", "./bin/run.sh", "#!/bin/sh\n"),
            ("file", "lib/v1/core.py", "old"),
            ("file", "lib/v1/core.py", "new"),  # appended again: the later one wins
            ("sym", "lib/current", "v1"),
            ("sym", "run", "bin/run.sh"),
            ("sym", "dangling", "not/there/yet"),
            ("link", "bin/run-again.sh", "./bin/run.sh"),
        ],
    )
    unpack(archive, destination, what="mod 1.0")
    assert (destination / "lib" / "current" / "core.py").read_text() == "new"
    assert (destination / "run").read_text() == "#!/bin/sh\n"
    assert (destination / "bin" / "run.sh").stat().st_nlink == 2
    assert os.readlink(destination / "dangling") == "not/there/yet"


def gzip_bomb(path: Path, size: int) -> Path:
    """A tarball holding one file of `size` zero bytes: small on disk, large unpacked."""
    info = tarfile.TarInfo("zeros.bin")
    info.size = size
    with gzip.open(path, "wb", compresslevel=9) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        tar.addfile(info, io.BytesIO(bytes(size)))
    return path


def test_an_archive_that_unpacks_past_the_limit_is_refused_before_writing(tmp_path):
    archive = gzip_bomb(tmp_path / "bomb.tar.gz", 3 * 1024 * 1024)
    assert archive.stat().st_size < 20_000
    destination = tmp_path / "mod"
    with pytest.raises(StepFailed) as refused:
        unpack(archive, destination, what="mod 1.0", max_bytes=1024 * 1024)
    assert str(refused.value) == (
        "mod 1.0 is refused: it unpacks to more than the limit of 1.0 MB (at least 3.0 MB); "
        "nothing was unpacked"
    )
    assert not destination.exists()
    unpack(archive, destination, what="mod 1.0", max_bytes=4 * 1024 * 1024)
    assert (destination / "zeros.bin").stat().st_size == 3 * 1024 * 1024


def test_a_flood_of_empty_members_counts_too(tmp_path):
    archive = tarball(tmp_path / "flood.tar.gz", [("file", f"f{i}", "") for i in range(3000)])
    destination = tmp_path / "mod"
    with pytest.raises(StepFailed, match=r"more than the limit of 1\.0 MB"):
        unpack(archive, destination, what="mod 1.0", max_bytes=1024 * 1024)
    assert not destination.exists()


def test_the_limit_is_also_counted_while_writing(tmp_path, monkeypatch):
    """Headers that under-state the sizes are caught by counting the bytes actually written."""
    archive = gzip_bomb(tmp_path / "bomb.tar.gz", 2 * 1024 * 1024)
    monkeypatch.setattr(agent_archive, "_cost", lambda member, block: 0)
    destination = tmp_path / "mod"
    with pytest.raises(StepFailed, match=r"the limit of 1\.0 MB \(at least .*nothing was unpacked"):
        unpack(archive, destination, what="mod 1.0", max_bytes=1024 * 1024)
    assert not destination.exists()


# ---- fuzz: random sequences of folders, files, symlinks and hard links -----------------------

# pieces of the chains that fooled the old textual checks, mixed with random members
PIECES = [
    ("sym", "s", "."),
    ("sym", "s/a", ".."),
    ("sym", "s/s/a", "../.."),
    ("sym", "b", "s/s/.."),
    ("sym", "a", "b/b/b/../.."),
    ("dir", "a"),
    ("file", "a/a", "x"),
    ("file", "a/s/a", "x"),
    ("link", "h", "a/a"),
    ("link", "h", "s/a/a"),
]


@st.composite
def archives(draw, most: int = 8) -> list[tuple]:
    """Members from a small alphabet that build on the names before them, half of them the
    known chain pieces; link targets are runs of `..`, `.` or earlier names, now and then
    absolute."""
    names: list[str] = []
    members: list[tuple] = []
    for _ in range(draw(st.integers(1, most))):
        if draw(st.booleans()):
            members.append(draw(st.sampled_from(PIECES)))
            continue
        kind = draw(st.sampled_from(["dir", "file", "sym", "link"]))
        base = draw(st.sampled_from(["", "a", "s", *names[-2:]]))
        leaf = draw(st.sampled_from(["a", "s", ".", ".."]))
        name = f"{base}/{leaf}" if base else leaf
        if kind == "file":
            members.append((kind, name, "x"))
        elif kind == "dir":
            members.append((kind, name))
        else:
            target = draw(st.sampled_from([".", "..", "../..", "a", "s/..", "", *names[-2:]]))
            members.append((kind, name, "/" + target if draw(st.integers(0, 9)) == 0 else target))
        names.append(name)
    return members


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(archives())
def test_no_sequence_of_members_writes_outside_the_module_folder(members):
    with tempfile.TemporaryDirectory() as sandbox_name:
        sandbox = Path(sandbox_name)
        # deep enough that a few `..` cannot leave the sandbox unseen
        destination = sandbox.joinpath(*"pqrstuvw") / "staging" / "mod"
        destination.parent.mkdir(parents=True)
        for folder in [sandbox, *destination.parents]:
            if sandbox in folder.parents or folder == sandbox:
                (folder / "a").write_text("secret")  # a file a hard link would grab
        archive = tarball(sandbox / "fuzz.tar.gz", members)
        before = snapshot(sandbox, destination)
        try:
            unpack(archive, destination, what="mod 1.0")
        except StepFailed:
            assert not destination.exists()
        else:
            real = os.path.realpath(destination)
            for path in destination.rglob("*"):
                if path.is_symlink():
                    resolved = os.path.realpath(path)
                    assert resolved == real or resolved.startswith(real + os.sep), path
        assert snapshot(sandbox, destination) == before


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(archives(most=6))
def test_what_the_tarfile_data_filter_refuses_is_refused_too(members):
    """Python's `data` filter is the reference: whatever it finds unsafe, unpack refuses
    (unpack is stricter still: it also refuses `..` and absolute names it would rewrite)."""
    with tempfile.TemporaryDirectory() as sandbox_name:
        sandbox = Path(sandbox_name)
        archive = tarball(sandbox / "fuzz.tar.gz", members)
        reference = sandbox / "deep" / "er" / "reference"
        reference.mkdir(parents=True)
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(reference, filter="data")
        except tarfile.FilterError:
            with pytest.raises(StepFailed):
                unpack(archive, sandbox / "deep" / "er" / "mod", what="mod 1.0")
        except (OSError, KeyError, RecursionError):
            # the reference stumbled on its own (a member where a file is, a link it cannot
            # find, a link chain it recurses into without end): no verdict to compare with
            pass


def test_the_data_filter_alone_misses_a_chain_made_in_the_other_order(tmp_path):
    """Why links are checked on the finished tree: the `data` filter checks each link when it
    is made, so `a -> b/b/b/../..` passes while `b` does not exist yet; once `b -> .` is made,
    `a` leads two folders up. unpack refuses it (see the chain test above)."""
    archive = tarball(tmp_path / "chain.tar.gz", [("sym", "a", "b/b/b/../.."), ("sym", "b", ".")])
    reference = tmp_path / "deep" / "reference"
    reference.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(reference, filter="data")
    assert Path(os.path.realpath(reference / "a")) == tmp_path  # two folders above
    with pytest.raises(StepFailed, match="the link a points outside its folder"):
        unpack(archive, tmp_path / "deep" / "mod", what="mod 1.0")


@pytest.mark.parametrize("keep", [40, 600])
def test_a_damaged_archive_is_named_as_unreadable(tmp_path, keep):
    archive = gzip_bomb(tmp_path / "whole.tar.gz", 1024 * 1024)
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(archive.read_bytes()[:keep])
    with pytest.raises(StepFailed, match=r"^mod 1\.0 is not a readable \.tar\.gz: "):
        unpack(damaged, tmp_path / "mod", what="mod 1.0")
    assert not (tmp_path / "mod").exists()
