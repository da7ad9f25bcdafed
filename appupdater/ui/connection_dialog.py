"""Editing how App Updater reaches one device's agent: endpoint, CA file or pinned
fingerprint, token. The stored token is never shown again: the field only replaces it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.devices import KEEP, connection_settings, set_connection
from appupdater.core.fleetchecks import FINGERPRINT, check_endpoint
from appupdater.errors import AppUpdaterError


class ConnectionDialog(QDialog):
    def __init__(self, device_id: int, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.device_id = device_id
        self.setWindowTitle(f"Connection to {name}")
        current = connection_settings(device_id)
        self.endpoint = QLineEdit(current.endpoint)
        self.endpoint.setPlaceholderText("https://10.0.3.7:8443 — empty: a simulated device")
        self.ca_file = QLineEdit(current.ca_file)
        self.ca_file.setPlaceholderText("CA certificate (PEM) to verify the agent with")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)
        self.fingerprint = QLineEdit(current.fingerprint)
        self.fingerprint.setPlaceholderText("or the certificate's SHA-256 fingerprint (pinned)")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(
            "a token is stored — type a new one to replace it"
            if current.has_token
            else "the agent's bearer token (16 characters or more)"
        )
        self.remove_token = QCheckBox("Remove the stored token")
        self.remove_token.setVisible(current.has_token)
        self.remove_token.toggled.connect(lambda on: self.token.setEnabled(not on))

        form = QFormLayout()
        form.addRow("&Endpoint:", self.endpoint)
        ca_label = QLabel("&CA file:")
        ca_label.setBuddy(self.ca_file)
        form.addRow(ca_label, ca_row)
        form.addRow("&Fingerprint:", self.fingerprint)
        form.addRow("&Token:", self.token)
        form.addRow("", self.remove_token)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        for field in (self.endpoint, self.fingerprint, self.token):
            field.textChanged.connect(self._check)
        self.setMinimumWidth(560)
        self._check()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", self.ca_file.text(), "Certificates (*.pem *.crt);;All (*)"
        )
        if path:
            self.ca_file.setText(path)

    def problem(self) -> str:
        endpoint = self.endpoint.text().strip()
        if endpoint and (why := check_endpoint(endpoint)):
            return f"The endpoint {why}."
        fingerprint = self.fingerprint.text().strip()
        if fingerprint and not FINGERPRINT.match(fingerprint):
            return "The fingerprint must be a SHA-256: 64 hexadecimal digits (colons allowed)."
        token = self.token.text().strip()
        if token and len(token) < 16:
            return "A token must have at least 16 characters."
        return ""

    def _check(self) -> None:
        problem = self.problem()
        self.error.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problem)

    def _save(self) -> None:
        token = "" if self.remove_token.isChecked() else self.token.text().strip() or KEEP
        try:
            set_connection(
                self.device_id,
                self.endpoint.text(),
                ca_file=self.ca_file.text(),
                fingerprint=self.fingerprint.text(),
                token=token,
            )
        except AppUpdaterError as exc:
            self.error.setText(str(exc))
            return
        self.token.clear()
        self.accept()
