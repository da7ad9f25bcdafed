"""Help → About App Updater: the version, what it runs on, and where its data lives — the
facts a bug report needs, selectable and copied with one click."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import QSettings, Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

import appupdater
from appupdater import __version__, desktop
from appupdater.store.db import data_dir, describe
from appupdater.store.models import db
from appupdater.ui.icons import icon


def details() -> list[tuple[str, str]]:
    """(label, value) pairs shown by the dialog and copied by Copy details."""
    bound = db.obj
    if getattr(sys, "frozen", False):
        build = f"frozen app in {Path(sys.executable).parent}"
    else:
        build = f"Python package in {Path(appupdater.__file__).parent}"
    entry = desktop.entry_path()
    return [
        ("Version", __version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Platform", f"{QGuiApplication.platformName()} on {platform.platform(terse=True)}"),
        ("Installation", build),
        ("Database", describe(bound) if bound is not None else "not open"),
        ("Data folder", str(data_dir())),
        ("Settings", QSettings().fileName()),
        ("Log", str(desktop.log_file())),
        ("Menu entry", str(entry) if entry.is_file() else "not installed"),
        (
            "At login",
            "starts in the tray" if desktop.autostart_enabled() else "does not start",
        ),
    ]


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About App Updater")
        self.details = details()

        logo = QLabel()
        logo.setPixmap(icon("appupdater").pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<h2 style='margin:0'>App Updater {__version__}</h2>")
        blurb = QLabel(
            "Roll out new versions of applications to a fleet of edge devices: choose what "
            "each device gets and when, approve, and follow the deployments."
        )
        blurb.setWordWrap(True)
        blurb.setMinimumWidth(440)
        heading = QVBoxLayout()
        heading.addWidget(title)
        heading.addWidget(blurb)
        heading.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(logo)
        top.addSpacing(12)
        top.addLayout(heading, 1)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.values: dict[str, QLabel] = {}
        for label, value in self.details:
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[label] = field
            form.addRow(f"{label}:", field)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton(
            "&Copy details", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.setToolTip("Copy these facts to the clipboard, for a bug report")
        self.copy_button.clicked.connect(self.copy_details)
        self.folder_button = buttons.addButton(
            "Open data &folder", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.folder_button.clicked.connect(self.open_data_folder)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(buttons)
        # as big as its facts, no bigger: paths stay on one line, nothing to stretch
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)

    def text(self) -> str:
        return "\n".join(f"{label}: {value}" for label, value in self.details)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copy_button.setText("&Copied")

    def open_data_folder(self) -> None:
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
