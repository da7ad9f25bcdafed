"""Re-importing a big fleet whose device connections change, are left out or stay the same.

    python bench/fleet_connections.py --devices 10000

An import compares every device's endpoint, CA file and fingerprint with the stored ones, keeps
those the file leaves out and names the changes in its audit entry (docs/fleet-file.md). Prints
name=value lines, seconds of `import_fleet` on an already parsed file (parsing is
bench/fleetio.py's): reimport_endpoints_set_s (every device gets an endpoint),
reimport_endpoints_changed_s (every endpoint moves), reimport_left_out_s (a file without
connection keys: kept), reimport_unchanged_s (the same file again); the size of the audit
entry the changing import wrote (audit_note_chars, audit_objects_chars) and what it costs the
audit log: audit_page_s (the newest page read, as the Audit window does), audit_search_s (a
text search over every entry).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def with_endpoints(document: dict[str, Any], port: int) -> dict[str, Any]:
    """`document` with an endpoint (and a pinned fingerprint) on every device."""
    changed = copy.deepcopy(document)
    for i, device in enumerate(changed["devices"]):
        device["endpoint"] = f"https://10.{i // 65_536}.{i // 256 % 256}.{i % 256}:{port}"
        device["fingerprint"] = f"{port:04x}" * 16
    return changed


def timed_import(document: dict[str, Any], name: str) -> float:
    from appupdater.core.fleetfile import parse_fleet
    from appupdater.core.fleetimport import import_fleet

    fleet = parse_fleet(document, name)
    start = time.perf_counter()
    import_fleet(fleet, name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from appupdater.core import audit_query
    from appupdater.core.fleetexport import fleet_document
    from appupdater.core.fleetimport import import_fleet
    from appupdater.demo.fleet import demo_fleet
    from appupdater.store.db import close_database, open_database
    from appupdater.store.team_models import AuditEntry

    with tempfile.TemporaryDirectory() as folder:
        open_database(str(Path(folder) / "fleet.sqlite3"))
        fleet, _ = demo_fleet(args.devices, args.seed)
        import_fleet(fleet, "bench")
        del fleet
        plain: dict[str, Any] = dict(fleet_document())
        found = {
            "reimport_endpoints_set_s": timed_import(with_endpoints(plain, 8443), "set.yaml"),
            "reimport_endpoints_changed_s": timed_import(with_endpoints(plain, 9443), "moved.yaml"),
        }
        entry = AuditEntry.select().order_by(AuditEntry.id.desc()).get()
        note_chars, objects_chars = len(entry.note), len(json.dumps(entry.objects))
        start = time.perf_counter()
        audit_query.entries(audit_query.AuditFilter(), limit=audit_query.PAGE)
        found["audit_page_s"] = time.perf_counter() - start
        start = time.perf_counter()
        audit_query.count(audit_query.AuditFilter(text="10.9.9.9"))
        found["audit_search_s"] = time.perf_counter() - start
        found["reimport_left_out_s"] = timed_import(plain, "plain.yaml")
        found["reimport_unchanged_s"] = timed_import(plain, "plain.yaml")
        close_database()
    print(f"devices={args.devices}")
    for name, seconds in found.items():
        print(f"{name}={seconds:.3f}")
    print(f"audit_note_chars={note_chars}")
    print(f"audit_objects_chars={objects_chars}")


if __name__ == "__main__":
    main()
