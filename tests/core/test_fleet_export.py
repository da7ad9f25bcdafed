"""Exporting to a place that cannot take the file says why in one sentence (no temporary
name, no error number), leaves no temporary file behind and keeps an existing file whole."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from appupdater.core import fleetexport
from appupdater.core.fleetexport import export_file
from appupdater.core.fleetimport import import_file
from appupdater.errors import ExportError

FIXTURE = Path(__file__).parent.parent / "fixtures" / "fleet.yaml"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def out(tmp_path):
    """An empty folder to export into (the database lives in tmp_path itself)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def assert_plain(message: str) -> None:
    assert "\n" not in message
    assert ".tmp" not in message and ".partial" not in message
    assert "Errno" not in message and "[" not in message


def test_export_to_a_missing_folder(db, out):
    import_file(FIXTURE)
    target = out / "nope" / "fleet.yaml"
    with pytest.raises(ExportError) as info:
        export_file(target)
    assert str(info.value) == f"cannot write fleet.yaml: the folder {out / 'nope'} does not exist"
    assert_plain(str(info.value))
    assert files_in(out) == []


def test_export_to_a_folder(db, out):
    import_file(FIXTURE)
    target = out / "exports.yaml"
    target.mkdir()
    with pytest.raises(ExportError) as info:
        export_file(target)
    assert str(info.value) == f"cannot write {target}: it is a folder; give a file name inside it"
    assert files_in(out) == ["exports.yaml"] and files_in(target) == []


def test_export_below_a_file(db, out):
    import_file(FIXTURE)
    (out / "notes.txt").write_text("x")
    target = out / "notes.txt" / "fleet.yaml"
    with pytest.raises(ExportError) as info:
        export_file(target)
    assert str(info.value) == (
        f"cannot write fleet.yaml: {out / 'notes.txt'} is a file, not a folder"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_to_a_read_only_folder(db, out):
    import_file(FIXTURE)
    folder = out / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ExportError) as info:
            export_file(folder / "fleet.yaml")
    finally:
        folder.chmod(0o755)
    assert str(info.value) == (
        f"cannot write fleet.yaml: you have no permission to write in the folder {folder}"
    )
    assert files_in(folder) == []


@pytest.mark.parametrize(
    ("code", "why"),
    [
        (errno.EACCES, "you have no permission to write in the folder {folder}"),
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the folder {folder} is on a read-only disk"),
        (errno.EIO, "input/output error"),
        (errno.ENOENT, "no such file or directory"),  # the folder is there, yet refuses
    ],
)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(
    db, out, monkeypatch, code, why
):
    """The file is written, then renamed into place: a failure at the rename (as a read-only
    folder, a full disk, … would give; root ignores folder permissions, so it is simulated)."""
    import_file(FIXTURE)
    target = out / "fleet.yaml"
    target.write_text("old\n")

    def refuse(source, destination):
        assert Path(source).exists()  # the temporary file was written
        raise OSError(code, os.strerror(code), str(source))

    monkeypatch.setattr(fleetexport.os, "replace", refuse)
    with pytest.raises(ExportError) as info:
        export_file(target)
    name = "fleet.yaml" if "{folder}" in why else str(target)
    assert str(info.value) == f"cannot write {name}: " + why.format(folder=out)
    assert_plain(str(info.value))
    assert files_in(out) == ["fleet.yaml"]
    assert target.read_text() == "old\n"


def test_export_keeps_the_permissions_of_the_file_it_replaces(db, out):
    import_file(FIXTURE)
    target = out / "fleet.json"
    target.write_text("{}")
    target.chmod(0o640)
    assert export_file(target) == 2
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert '"press-07"' in target.read_text()
    assert files_in(out) == ["fleet.json"]
