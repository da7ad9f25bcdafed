"""Small builders shared by tests."""

from __future__ import annotations

import textwrap

from appupdater.core.fleetfile import parse_fleet_text
from appupdater.core.fleetimport import import_fleet
from appupdater.store.tables import ALL_MODELS

CATALOG = """
applications:
  - name: line-monitor
    versions:
      - version: "2.0.0"
        modules:
          - {name: collector, version: "2.0.0", image: "reg/collector:2.0.0"}
          - {name: alerts, version: "1.0.0", image: "reg/alerts:1.0.0"}
      - version: "1.0.0"
        modules:
          - {name: collector, version: "1.0.0", image: "reg/collector:1.0.0"}
          - {name: dashboard, version: "0.9.2", image: "reg/dashboard:0.9.2"}
      - version: "1.5.0"
        modules:
          - {name: collector, version: "1.5.0", image: "reg/collector:1.5.0"}
          - {name: dashboard, version: "0.9.2", image: "reg/dashboard:0.9.2"}
      - version: "2.1.0-rc.1"
        modules:
          - {name: collector, version: "2.1.0", image: "reg/collector:2.1.0"}
          - {name: alerts, version: "1.0.0", image: "reg/alerts:1.0.0"}
          - {name: historian, version: "0.1.0", image: "reg/historian:0.1.0"}
  - name: edge-gateway
    versions:
      - version: "3.9"
        modules:
          - {name: broker, version: "2.0", image: "reg/broker:2.0"}
      - version: "3.10"
        modules:
          - {name: broker, version: "2.1", image: "reg/broker:2.1"}
"""


def load_yaml(text: str, file: str = "test.yaml"):
    """Import a fleet given as YAML text into the bound database."""
    return import_fleet(parse_fleet_text(textwrap.dedent(text), "yaml", file), file)


def devices_yaml(*lines: str) -> str:
    """A `devices:` section from one line per device (flow-style YAML mappings)."""
    return "devices:\n" + "".join(f"  - {line}\n" for line in lines)


def dump_tables() -> dict[str, list[tuple]]:
    """Every row of every table but the audit trail, for "nothing changed" assertions (a refused
    action leaves an audit entry on purpose: tests/core/test_audit_*.py check those)."""
    return {
        model._meta.table_name: sorted(model.select().tuples(), key=repr)
        for model in ALL_MODELS
        if model._meta.table_name != "audit_entry"
    }


def behind_on_line_monitor(devices: int) -> int:
    """`devices` devices (dev-000…) at line-monitor 1.0.0 and an approved run updating them
    all; returns the run's id."""
    from appupdater.core.planning import Selection, plan_update
    from appupdater.core.runs import create_run

    lines = "".join(
        f"  - {{name: dev-{i:03d}, applications: {{line-monitor: "
        f"{{configured: '1.0.0', installed: '1.0.0'}}}}}}\n"
        for i in range(devices)
    )
    load_yaml(CATALOG + "devices:\n" + lines)
    return create_run(plan_update([Selection("line-monitor")]), approved_by="test")
