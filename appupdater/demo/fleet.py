"""A realistic demo catalog and fleet, generated from a seed and imported like any fleet file.

Four applications with five or six versions each, where modules are added, removed and
modified between versions (one pre-release among them); devices spread over several sites, most
somewhat behind, some configured ahead of what they have installed, a few offline.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from appupdater.core.fleetfile import (
    ApplicationSpec,
    DeviceAppSpec,
    DeviceSpec,
    Fleet,
    ModuleSpec,
    VersionSpec,
)
from appupdater.core.fleetimport import ImportSummary, Progress, import_fleet
from appupdater.store.db import writing
from appupdater.store.models import Device, Labels

REGISTRY = "registry.plant.local"

# application -> [(version, {module: module version})], earliest first
CATALOG: dict[str, list[tuple[str, dict[str, str]]]] = {
    "line-monitor": [
        ("1.0.0", {"collector": "1.0.0", "dashboard": "0.9.2"}),
        ("1.1.0", {"collector": "1.1.0", "dashboard": "0.9.2"}),
        ("1.2.0", {"collector": "1.1.3", "dashboard": "1.0.0", "alerts": "0.1.0"}),
        (
            "2.0.0-rc.1",
            {
                "collector": "2.0.0-rc.1",
                "alerts": "1.0.0-rc.1",
                "historian": "1.0.0-rc.1",
                "web-ui": "2.0.0-rc.1",
            },
        ),
        (
            "2.0.0",
            {"collector": "2.0.0", "alerts": "1.0.0", "historian": "1.0.0", "web-ui": "2.0.0"},
        ),
        (
            "2.1.0",
            {"collector": "2.1.0", "alerts": "1.0.1", "historian": "1.0.0", "web-ui": "2.1.0"},
        ),
    ],
    "edge-gateway": [
        ("3.4.0", {"mqtt-broker": "2.0.11", "opcua-bridge": "1.4.0", "modbus-adapter": "0.8.1"}),
        ("3.5.0", {"mqtt-broker": "2.0.15", "opcua-bridge": "1.5.0", "modbus-adapter": "0.8.1"}),
        (
            "3.6.0",
            {
                "mqtt-broker": "2.0.15",
                "opcua-bridge": "1.5.2",
                "modbus-adapter": "0.9.0",
                "cloud-sync": "0.3.0",
            },
        ),
        (
            "4.0.0",
            {
                "mqtt-broker": "2.1.0",
                "opcua-bridge": "2.0.0",
                "cloud-sync": "1.0.0",
                "protocol-hub": "1.0.0",
            },
        ),
        (
            "4.0.1",
            {
                "mqtt-broker": "2.1.0",
                "opcua-bridge": "2.0.1",
                "cloud-sync": "1.0.0",
                "protocol-hub": "1.0.0",
            },
        ),
    ],
    "vision-inspect": [
        ("0.9.0", {"camera-driver": "5.1.0", "inference": "0.9.0", "results-api": "0.9.0"}),
        ("0.10.0", {"camera-driver": "5.1.0", "inference": "0.10.0", "results-api": "0.9.1"}),
        (
            "1.0.0",
            {
                "camera-driver": "5.2.0",
                "inference": "1.0.0",
                "results-api": "1.0.0",
                "model-store": "1.0.0",
            },
        ),
        (
            "1.1.0",
            {
                "camera-driver": "5.2.0",
                "inference": "1.1.0",
                "results-api": "1.0.0",
                "model-store": "1.1.0",
            },
        ),
        (
            "1.2.0",
            {
                "camera-driver": "6.0.0",
                "inference": "1.2.0",
                "results-api": "1.1.0",
                "model-store": "1.1.0",
                "label-tool": "0.1.0",
            },
        ),
    ],
    "energy-meter": [
        ("2022.1", {"meter-reader": "1.0.0", "aggregator": "1.0.0", "csv-export": "1.0.0"}),
        ("2023.1", {"meter-reader": "1.1.0", "aggregator": "1.0.0", "csv-export": "1.0.0"}),
        ("2023.2", {"meter-reader": "1.1.0", "aggregator": "1.2.0", "csv-export": "1.0.1"}),
        (
            "2024.1",
            {"meter-reader": "1.2.0", "aggregator": "1.2.0", "prometheus-exporter": "0.5.0"},
        ),
        (
            "2024.2",
            {"meter-reader": "1.3.0", "aggregator": "1.3.0", "prometheus-exporter": "0.6.0"},
        ),
    ],
}

SITES = ["Plant A", "Plant B", "Plant C", "Warehouse North", "Warehouse South", "Lab"]
KINDS = ["press", "cnc", "agv", "robot", "scanner", "kiosk", "oven", "packer"]
# how likely a device of a site runs each application
USES = {"line-monitor": 0.8, "edge-gateway": 0.7, "vision-inspect": 0.35, "energy-meter": 0.45}


def demo_catalog() -> tuple[ApplicationSpec, ...]:
    return tuple(
        ApplicationSpec(
            name,
            tuple(
                VersionSpec(
                    version,
                    tuple(
                        ModuleSpec(module, mversion, f"{REGISTRY}/{name}/{module}:{mversion}")
                        for module, mversion in modules.items()
                    ),
                )
                for version, modules in versions
            ),
            description=f"Demo application {name}",
        )
        for name, versions in CATALOG.items()
    )


def _device_names(count: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    width = max(2, len(str(count // len(KINDS) + 1)))
    counters = dict.fromkeys(KINDS, 0)
    for _ in range(count):
        kind = rng.choice(KINDS)
        counters[kind] += 1
        yield kind, f"{kind}-{counters[kind]:0{width}d}"


def demo_fleet(
    devices: int = 250,
    seed: int = 7,
    *,
    latency_s: float | None = None,
    failure_rate: float | None = None,
    offline: float | None = None,
) -> tuple[Fleet, list[str]]:
    """The demo fleet and the names of the devices that are offline. `latency_s` and
    `failure_rate` set the simulation labels of every device; `offline` the share offline."""
    offline_share = 0.06 if offline is None else offline
    rng = random.Random(seed)
    releases = {
        name: [v for v, _ in versions if "-" not in v] for name, versions in CATALOG.items()
    }
    specs, offline_names = [], []
    for kind, name in _device_names(devices, rng):
        site = rng.choice(SITES)
        apps: dict[str, DeviceAppSpec] = {}
        for app, chance in USES.items():
            if rng.random() >= chance:
                continue
            versions = releases[app]
            # most devices are one or two releases behind; some are current
            installed_at = max(
                0, len(versions) - 1 - min(int(rng.expovariate(0.8)), len(versions) - 1)
            )
            installed = versions[installed_at]
            configured: str | None = installed
            roll = rng.random()
            if roll < 0.15 and installed_at < len(versions) - 1:
                configured = versions[rng.randrange(installed_at + 1, len(versions))]
            elif roll < 0.2:
                configured = None
            apps[app] = DeviceAppSpec(configured, installed)
        if not apps:
            app = rng.choice(list(CATALOG))
            apps[app] = DeviceAppSpec(releases[app][0], releases[app][0])
        labels: Labels = {
            "line": str(rng.randint(1, 9)),
            "kind": kind,
        }
        if latency_s is not None:
            labels["sim.latency_s"] = latency_s
        if failure_rate is not None:
            labels["sim.failure_rate"] = failure_rate
        if rng.random() < offline_share:
            labels["sim.offline"] = True
            offline_names.append(name)
        specs.append(DeviceSpec(name, site, labels, None, apps))
    return Fleet(demo_catalog(), tuple(specs)), offline_names


def load_demo(
    devices: int = 250,
    seed: int = 7,
    progress: Progress | None = None,
    *,
    latency_s: float | None = None,
    failure_rate: float | None = None,
    offline: float | None = None,
) -> ImportSummary:
    """Import the demo fleet into the bound database and mark its offline devices."""
    fleet, offline_names = demo_fleet(
        devices, seed, latency_s=latency_s, failure_rate=failure_rate, offline=offline
    )
    summary = import_fleet(fleet, "demo fleet", progress)
    with writing():
        for start in range(0, len(offline_names), 500):
            chunk = offline_names[start : start + 500]
            Device.update(online=False).where(Device.name.in_(chunk)).execute()
    return summary
