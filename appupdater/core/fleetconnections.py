"""What an import does to a device's connection: its endpoint, CA file and fingerprint.

A key the file leaves out keeps the stored value (a hand-written file of names and versions
must not turn a real device into a simulated one, whose deployments would "succeed" without
contacting it, nor drop its pinning); a key given as null clears it. Every change is named in
the import's one audit entry as device, key, old → new, and counted in its summary
(docs/fleet-file.md). The token is kept the same way by `fleetimport` and never named here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from appupdater.core.fleetfile import CONNECTION_KEYS, DeviceSpec
from appupdater.core.urls import redacted_url

Values = tuple[str | None, str | None, str | None]  # endpoint, CA file, fingerprint

LABELS = {"endpoint": "endpoint", "ca_file": "CA file", "fingerprint": "fingerprint"}
SHOWN = 20  # changes named in the audit entry's note; its objects list every one
# scheme, host (IPv6 in brackets) and port, nothing that could hide a secret: shown as it is
PLAIN_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.\-]+:[0-9]+|https?://\[[0-9A-Fa-f:.%]+\]:[0-9]+")


@dataclass(frozen=True)
class ConnectionChange:
    """One connection key of one device that an import changed."""

    device: str
    key: str  # one of CONNECTION_KEYS
    old: str | None
    new: str | None

    def words(self) -> str:
        """ "press-01 endpoint https://a:8443 → none (simulated)" """
        return f"{self.device} {LABELS[self.key]} {self._shown(self.old)} → {self._new()}"

    def _new(self) -> str:
        if self.new is None and self.key == "endpoint":
            return "none (simulated)"
        return self._shown(self.new)

    def _shown(self, value: str | None) -> str:
        if value is None:
            return "none"
        if self.key != "endpoint" or PLAIN_ENDPOINT.fullmatch(value):
            return value
        # a file's endpoint is scheme, host and port; one stored earlier may hold a password
        return redacted_url(value)


def merged(spec: DeviceSpec, stored: Values) -> tuple[Values, list[ConnectionChange]]:
    """The connection to store for an existing device and what changed: the file's values,
    the stored ones where the file leaves a key out."""
    given = (spec.endpoint, spec.ca_file, spec.fingerprint)
    values = tuple(
        new if new is not None or key in spec.cleared else old
        for key, new, old in zip(CONNECTION_KEYS, given, stored, strict=True)
    )
    changes = [
        ConnectionChange(spec.name, key, old, new)
        for key, new, old in zip(CONNECTION_KEYS, values, stored, strict=True)
        if new != old
    ]
    return (values[0], values[1], values[2]), changes


def counts(changes: list[ConnectionChange]) -> dict[str, int]:
    """The summary's connection fields: devices whose connection changed, and per key the
    devices given a new value (`endpoints_changed`) or cleared (`endpoints_cleared`)."""
    per_key = Counter(
        f"{change.key}s_{'changed' if change.new is not None else 'cleared'}" for change in changes
    )
    result = {"connections_changed": len({change.device for change in changes})}
    for key in CONNECTION_KEYS:
        for how in ("changed", "cleared"):
            result[f"{key}s_{how}"] = per_key[f"{key}s_{how}"]
    return result


# how the summary says each count; a cleared endpoint or fingerprint says what that means
SAID = {
    "endpoints_changed": "endpoint changed",
    "endpoints_cleared": "endpoint cleared",
    "ca_files_changed": "CA file changed",
    "ca_files_cleared": "CA file cleared",
    "fingerprints_changed": "fingerprint changed",
    "fingerprints_cleared": "fingerprint cleared",
}
MEANING = {
    "endpoints_cleared": " (simulated from now on)",
    "fingerprints_cleared": " (no longer pinned)",
}


def audited(objects: dict[str, list[int | str]], note: str, changes: list[ConnectionChange]) -> str:
    """Add the changes to an import's audit entry: every changed device and every change in
    its `objects`, the first `SHOWN` in its note (the note returned)."""
    if not changes:
        return note
    objects["devices"] = sorted({change.device for change in changes})
    objects["connections"] = [change.words() for change in changes]
    named = "; ".join(change.words() for change in changes[:SHOWN])
    more = len(changes) - SHOWN
    rest = f"; and {more} more (every one is listed in the entry's objects)" if more > 0 else ""
    return f"{note}; connections: {named}{rest}"
