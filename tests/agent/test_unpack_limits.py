"""What an archive may cost the device: paths too deep or too long for the file system are
refused in words (and a tree too deep for `shutil.rmtree` is still removed, so the agent always
starts); a huge name header cannot make the agent read it into memory; folders, links and the
number of members count against the unpacked-size limit as what they take on disk."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from appupdater.agent import archive as agent_archive
from appupdater.agent.files import StepFailed, unpack
from appupdater.agent.removal import remove_tree
from appupdater.agent.state import Agent
from appupdater.demo.agents import write_tarball
from tests.agent.test_agent import V1, V2, active, config, finished
from tests.agent.test_agent import artifacts as artifacts  # the fixture, served over HTTP
from tests.agent.test_unpack import tarball

MB = 1024 * 1024
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


# ---- deep and long paths ------------------------------------------------------------------


def test_a_path_deeper_than_64_levels_is_refused_and_nothing_is_left(tmp_path):
    """The reviewer's archive: `a/` 3000 times then `f`, and a member whose name is too long
    for the file system after it. Once the deep file unpacked, and removing it made
    `shutil.rmtree` raise RecursionError over the real problem."""
    archive = tarball(tmp_path / "deep.tar.gz", [("file", "a/" * 3000 + "f"), ("file", "b" * 300)])
    destination = tmp_path / "mod"
    with pytest.raises(StepFailed) as refused:
        unpack(archive, destination, what="mod 1.0")
    text = str(refused.value)
    assert text.startswith("mod 1.0 is refused: a/a/a/a/")
    assert "has a path of 3,001 levels; at most 64 are unpacked" in text
    assert len(text) < 300  # the name is shortened, not 6,000 characters of it
    assert not refused.value.transient
    assert not destination.exists()


@pytest.mark.parametrize(
    "name, why",
    [
        ("a/" + "b" * 256, "a/" + "b" * 38 + "… has a name of 256 bytes; at most 255 bytes"),
        ("é" * 128, "é" * 40 + "… has a name of 256 bytes; at most 255 bytes"),
        ("/".join(["c" * 100] * 41), "has a path of 4,140 bytes; at most 4,096 bytes"),
    ],
)
def test_names_the_file_system_cannot_hold_are_refused_in_words(tmp_path, name, why):
    archive = tarball(tmp_path / "long.tar.gz", [("file", "ok"), ("file", name)])
    destination = tmp_path / "mod"
    with pytest.raises(StepFailed) as refused:
        unpack(archive, destination, what="mod 1.0")
    assert why in str(refused.value)
    assert not refused.value.transient
    assert not destination.exists()


def test_a_deployment_with_a_name_too_long_fails_for_good_in_words(tmp_path, artifacts):
    """It reached the agent as an OSError: "unexpected error on the device", worth retrying."""
    agent = Agent(tmp_path / "device")
    agent.put("d1", config(artifacts, "1.0.0", V1))
    finished(agent, "d1")
    long = tmp_path / "artifacts" / "alerts-long.tar.gz"
    sha = write_tarball(long, {"ok.txt": "x", "b" * 300: "x"}, {})
    served = artifacts[("alerts", "1.0.0")][0].rsplit("/", 1)[0]
    override = {"alerts": {"url": f"{served}/{long.name}", "sha256": sha}}
    agent.put("d2", config(artifacts, "2.0.0", V2, **override))
    answer = finished(agent, "d2")
    assert answer["state"] == "failed" and not answer["transient"]
    assert answer["message"].startswith("alerts 1.0.0 is refused: " + "b" * 40 + "… has a name")
    assert active(agent.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    assert not list((agent.root / "staging").iterdir())


def test_a_link_target_too_long_for_the_file_system_is_refused(tmp_path):
    archive = tarball(tmp_path / "link.tar.gz", [("sym", "l", "/".join(["d"] * 2100))])
    with pytest.raises(StepFailed, match=r"the link l points at a path of 4,199 bytes"):
        unpack(archive, tmp_path / "mod", what="mod 1.0")
    assert not (tmp_path / "mod").exists()


def test_64_levels_with_long_names_still_unpack(tmp_path):
    name = "/".join(["d" * 60] * 63 + ["f" * 40])
    archive = tarball(tmp_path / "ok.tar.gz", [("file", name, "deep")])
    unpack(archive, tmp_path / "mod", what="mod 1.0")
    fd = os.open(tmp_path / "mod", _DIR)
    for part in name.split("/")[:-1]:
        inner = os.open(part, _DIR, dir_fd=fd)
        os.close(fd)
        fd = inner
    try:
        assert os.stat("f" * 40, dir_fd=fd).st_size == 4
    finally:
        os.close(fd)


def deep_tree(top: Path, levels: int, outside: Path) -> None:
    """A tree `levels` folders deep under `top` (made by hand: no archive would be unpacked
    like it), with a file, a link to a file outside and a link to a folder outside at every
    100th level; its full path is far beyond PATH_MAX."""
    top.mkdir(parents=True)
    fd = os.open(top, _DIR)
    try:
        for level in range(levels):
            if level % 100 == 0:
                os.close(os.open("file", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
                os.symlink(outside / "keep.txt", "to-file", dir_fd=fd)
                os.symlink(outside, "to-folder", dir_fd=fd)
            os.mkdir("a", dir_fd=fd)
            inner = os.open("a", _DIR, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)


@pytest.fixture
def outside(tmp_path):
    """Something beside the tree that links inside it point at and that must survive."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    return folder


def test_a_tree_too_deep_for_rmtree_is_removed_without_following_links(tmp_path, outside):
    top = tmp_path / "tree"
    deep_tree(top, 3000, outside)
    if sys.version_info < (3, 13):  # Python 3.13's rmtree no longer recurses
        with pytest.raises(RecursionError):  # what the agent used before
            shutil.rmtree(top, ignore_errors=True)
    remove_tree(top)
    assert not top.exists()
    assert (outside / "keep.txt").read_text() == "keep"
    remove_tree(top)  # nothing there: nothing to do
    (tmp_path / "plain").write_text("x")
    remove_tree(tmp_path / "plain")
    assert not (tmp_path / "plain").exists()


def test_the_agent_starts_over_a_staging_folder_too_deep_for_rmtree(tmp_path, outside):
    root = tmp_path / "device"
    Agent(root)
    deep_tree(root / "staging" / "mod-1.0-123", 3000, outside)
    Agent(root)
    assert list((root / "staging").iterdir()) == []
    assert (outside / "keep.txt").read_text() == "keep"


# ---- headers that would be read whole --------------------------------------------------------

MEASURE = """
import resource, sys
from pathlib import Path
from appupdater.agent.archive import unpack
from appupdater.agent.steps import StepFailed
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    unpack(Path(sys.argv[1]), Path(sys.argv[2]), what="mod 1.0", max_bytes=int(sys.argv[3]))
    print("unpacked")
except StepFailed as exc:
    print(exc)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def header_bomb(path: Path, kind: str, size: int) -> Path:
    """A .tar.gz whose first header is a PAX comment or a GNU long name of `size` bytes (a
    multiple of 1 MB), then one small file: a few hundred KB that tarfile reads whole."""
    if kind == "pax":
        record = size + len(" comment=\n")
        record += len(str(record + len(str(record))))
        info = tarfile.TarInfo("././@PaxHeader")
        info.type, info.size = tarfile.XHDTYPE, record
        start, end = f"{record} comment=".encode(), b"\n"
    else:
        info = tarfile.TarInfo("././@LongLink")
        info.type, info.size = tarfile.GNUTYPE_LONGNAME, size + 1
        start, end = b"", b"\0"
    small = tarfile.TarInfo("f")
    small.size = 1
    padding = b"\0" * (-(len(start) + size + len(end)) % 512)
    megabyte = gzip.compress(b"a" * MB, compresslevel=9)
    with open(path, "wb") as out:  # gzip members one after another read as one stream
        out.write(gzip.compress(info.tobuf(tarfile.GNU_FORMAT) + start))
        for _ in range(size // MB):
            out.write(megabyte)
        tail = end + padding + small.tobuf(tarfile.GNU_FORMAT) + b"x".ljust(512, b"\0")
        out.write(gzip.compress(tail + b"\0" * 1024))
    return path


@pytest.mark.parametrize("kind", ["pax", "gnu"])
def test_a_huge_name_header_is_refused_without_reading_it(tmp_path, kind):
    """The reviewer's PAX bomb: a few hundred KB that tarfile read whole (1.1 GB of memory)
    before any size was counted. Refused now, and the agent's memory hardly moves."""
    archive = header_bomb(tmp_path / "bomb.tar.gz", kind, 256 * MB)
    assert archive.stat().st_size < 500_000
    destination = tmp_path / "mod"
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(archive), str(destination), str(MB)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    message, grown_mb = done.stdout.strip().splitlines()
    assert message.startswith("mod 1.0 is refused: ")
    assert "header" in message and "nothing was unpacked" in message
    assert int(grown_mb) < 200
    assert not destination.exists()


def test_a_header_is_refused_even_without_a_size_limit(tmp_path):
    archive = header_bomb(tmp_path / "bomb.tar.gz", "gnu", 8 * MB)
    with pytest.raises(StepFailed, match=r"a header in it is larger than 1\.0 MB"):
        unpack(archive, tmp_path / "mod", what="mod 1.0")


def test_the_stream_is_not_read_past_the_limit(tmp_path, monkeypatch):
    """Headers alone (whatever they claim) stop once the stream passes the limit and its
    allowance for headers."""
    monkeypatch.setattr(agent_archive, "_cost", lambda member, block: 0)
    archive = tarball(tmp_path / "many.tar.gz", [("dir", f"d{i}") for i in range(3000)])
    with pytest.raises(StepFailed, match=r"more than the limit of 100,000 bytes"):
        unpack(archive, tmp_path / "mod", what="mod 1.0", max_bytes=100_000)
    assert not (tmp_path / "mod").exists()


# ---- what members take on disk -------------------------------------------------------------


def test_folders_count_as_what_they_take_on_disk(tmp_path):
    """The reviewer's case: 20,000 empty folders (150 KB packed) were accepted under a limit
    of 10.5 MB and took 80 MB on disk."""
    archive = tmp_path / "dirs.tar.gz"
    with gzip.open(archive, "wb", compresslevel=9) as out:
        for i in range(20_000):
            info = tarfile.TarInfo(f"{i % 100}/{i}")
            info.type = tarfile.DIRTYPE
            out.write(info.tobuf(tarfile.USTAR_FORMAT))
        out.write(b"\0" * 1024)
    limit = 20_000 * 512 + 600_000
    destination = tmp_path / "mod"
    with pytest.raises(StepFailed, match=r"more than the limit of 10\.3 MB"):
        unpack(archive, destination, what="mod 1.0", max_bytes=limit)
    assert not destination.exists()


def test_files_count_in_whole_blocks_and_links_count_a_block(tmp_path):
    members = [("file", f"f{i}", "x") for i in range(10)] + [("sym", "s", "f0"), ("dir", "d")]
    archive = tarball(tmp_path / "small.tar.gz", members)
    with pytest.raises(StepFailed, match=r"\(at least 49,152 bytes\)"):
        unpack(archive, tmp_path / "mod", what="mod 1.0", max_bytes=12 * 4096 - 1)
    unpack(archive, tmp_path / "mod", what="mod 1.0", max_bytes=12 * 4096)
    assert (tmp_path / "mod" / "s").read_text() == "x"


def test_the_number_of_members_is_capped(tmp_path, monkeypatch):
    assert agent_archive.MAX_MEMBERS == 100_000
    monkeypatch.setattr(agent_archive, "MAX_MEMBERS", 50)
    archive = tarball(tmp_path / "many.tar.gz", [("dir", f"d{i}") for i in range(51)])
    with pytest.raises(StepFailed) as refused:
        unpack(archive, tmp_path / "mod", what="mod 1.0")
    assert str(refused.value) == (
        "mod 1.0 is refused: it holds more than 50 files, folders and links; nothing was unpacked"
    )
    archive = tarball(tmp_path / "enough.tar.gz", [("dir", f"d{i}") for i in range(50)])
    unpack(archive, tmp_path / "mod", what="mod 1.0")


def test_an_uncompressed_tar_still_unpacks(tmp_path):
    archive = tmp_path / "plain.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("a/b.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    unpack(archive, tmp_path / "mod", what="mod 1.0", max_bytes=MB)
    assert (tmp_path / "mod" / "a" / "b.txt").read_text() == "hi"
