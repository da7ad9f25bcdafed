"""Acting as another person in a test: what `identity.os_user()` answers. App Updater reads
the account of the process, not LOGNAME or USER (anyone can set those to another person's
name), so a test stands in for a second operating-system user here."""

from __future__ import annotations

import pytest

from appupdater.core import identity


def act_as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    monkeypatch.setattr(identity, "os_user", lambda: user)
