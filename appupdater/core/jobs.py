"""What a worker gets when it claims a deployment: the device, how to reach it, and the whole
configuration it is to run."""

from __future__ import annotations

from dataclasses import dataclass, field

from appupdater.core.approved_config import approved_configurations
from appupdater.core.catalog import MODULE_FIELDS, ModuleInfo
from appupdater.store.config_revisions import ConfigMap
from appupdater.store.models import (
    Application,
    AppVersion,
    Deployment,
    Device,
    DeviceApp,
    Labels,
    Module,
    Target,
)
from appupdater.store.rows import tuples


@dataclass(frozen=True)
class Connection:
    """How to reach a device's agent. The token is left out of repr() (and so of logs)."""

    endpoint: str
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class AppConfig:
    """One configured application of a device, as deployed."""

    application: str
    version: str
    version_id: int
    modules: tuple[ModuleInfo, ...]
    application_id: int = 0


@dataclass(frozen=True)
class DeploymentJob:
    """What a worker needs to push one device's whole configuration."""

    id: int
    run_id: int
    device_id: int
    device: str
    labels: Labels
    endpoint: str | None
    attempt: int
    instance: str
    config: tuple[AppConfig, ...] = field(default=())
    connection: Connection | None = None
    # the deployment's claim number when this attempt claimed it: what its writes check
    claim: int = 0
    # what it pushes besides its run's own applications, because their configuration is not
    # what the device runs (core/along.py): "edge-gateway 3.9 → 3.10", by name
    along: tuple[str, ...] = ()
    # an administrator cancelled an earlier attempt whose device did not confirm it stopped:
    # this one asks the device again instead of pushing anything (core/attempts.py)
    cancelling: bool = False
    # what the device's configuration holds that no one approved with this run (an import
    # after the approval): left out of the push (core/approved_config.py), "app 1.2 (why)"
    waits: tuple[str, ...] = ()


def load_jobs(ids: list[int], instance: str) -> list[DeploymentJob]:
    """The claimed deployments `ids`, by id, each with its device's whole configuration."""
    if not ids:
        return []
    query = (
        Deployment.select(
            Deployment.id,
            Deployment.run,
            Deployment.device,
            Device.name,
            Device.labels,
            Device.endpoint,
            Deployment.attempts,
            Device.token,
            Device.tls_ca_file,
            Device.tls_fingerprint,
            Deployment.claim,
            Deployment.cancel_requested,
        )
        .join(Device)
        .where(Deployment.id.in_(ids))
        .order_by(Deployment.id)
    )
    rows = list(
        tuples(
            query,
            tuple[
                int,
                int,
                int,
                str,
                Labels,
                str | None,
                int,
                str | None,
                str | None,
                str | None,
                int,
                bool,
            ],
        )
    )
    held = approved_configurations((row[0], row[1], row[2]) for row in rows)
    overrides = {row[2]: held[row[0]].configured for row in rows if row[0] in held}
    configs, installed = _configurations([row[2] for row in rows], overrides)
    along = _along([(row[0], row[1], row[2]) for row in rows], configs, installed)
    return [
        DeploymentJob(
            d,
            run,
            device_id,
            name,
            labels or {},  # JSONField decodes it, in tuple rows too
            endpoint,
            attempts,
            instance,
            tuple(configs.get(device_id, ())),
            Connection(endpoint, token, ca_file, fingerprint) if endpoint else None,
            claim,
            along.get(d, ()),
            bool(cancelling),
            held[d].waits if d in held else (),
        )
        for (
            d,
            run,
            device_id,
            name,
            labels,
            endpoint,
            attempts,
            token,
            ca_file,
            fingerprint,
            claim,
            cancelling,
        ) in rows
    ]


def _along(
    rows: list[tuple[int, int, int]],  # (deployment, run, device)
    configs: dict[int, list[AppConfig]],
    installed: dict[tuple[int, int], int | None],
) -> dict[int, tuple[str, ...]]:
    """deployment id -> what it pushes besides its run's applications (see DeploymentJob)."""
    runs = {row[1] for row in rows}
    devices = [row[2] for row in rows]
    own = set(
        tuples(
            Target.select(Target.run, Target.device, Target.application).where(
                Target.run.in_(list(runs)) & Target.device.in_(devices)
            ),
            tuple[int, int, int],
        )
    )
    differs: dict[int, list[AppConfig]] = {}
    for device_id, apps in configs.items():
        for app in apps:
            if installed.get((device_id, app.application_id)) != app.version_id:
                differs.setdefault(device_id, []).append(app)
    if not differs:
        return {}
    texts = dict(
        tuples(
            AppVersion.select(AppVersion.id, AppVersion.version).where(
                AppVersion.id.in_([v for v in installed.values() if v is not None])
            ),
            tuple[int, str],
        )
    )

    def running(device_id: int, app: AppConfig) -> str:
        return texts.get(installed.get((device_id, app.application_id)) or 0, "—")

    found = {}
    for deployment_id, run_id, device_id in rows:
        extra = tuple(
            f"{app.application} {running(device_id, app)} → {app.version}"
            for app in differs.get(device_id, ())
            if (run_id, device_id, app.application_id) not in own
        )
        if extra:
            found[deployment_id] = extra
    return found


def _configurations(
    device_ids: list[int], overrides: dict[int, ConfigMap]
) -> tuple[dict[int, list[AppConfig]], dict[tuple[int, int], int | None]]:
    """device id -> every configured application with its modules, by application name (for a
    device in `overrides`, that map instead of its current configuration); and (device id,
    application id) -> the version the device runs (None: not reported)."""
    query = DeviceApp.select(
        DeviceApp.device, DeviceApp.application, DeviceApp.configured, DeviceApp.installed
    ).where(DeviceApp.device.in_(device_ids))
    maps: dict[int, ConfigMap] = {}
    installed: dict[tuple[int, int], int | None] = {}
    for device_id, app_id, configured, runs_id in tuples(
        query, tuple[int, int, int | None, int | None]
    ):
        installed[(device_id, app_id)] = runs_id
        if configured is not None:
            maps.setdefault(device_id, {})[app_id] = configured
    maps.update(overrides)
    version_ids = list({v for configured in maps.values() for v in configured.values()})
    names = {
        version_id: (app, version)
        for version_id, app, version in tuples(
            AppVersion.select(AppVersion.id, Application.name, AppVersion.version)
            .join(Application)
            .where(AppVersion.id.in_(version_ids)),
            tuple[int, str, str],
        )
    }
    modules: dict[int, list[ModuleInfo]] = {}
    module_query = (
        Module.select(Module.app_version, *MODULE_FIELDS)
        .where(Module.app_version.in_(version_ids))
        .order_by(Module.position)
    )
    for version_id, name, version, image, url, sha256 in tuples(
        module_query, tuple[int, str, str, str, str | None, str | None]
    ):
        modules.setdefault(version_id, []).append(ModuleInfo(name, version, image, url, sha256))
    configs: dict[int, list[AppConfig]] = {}
    for device_id, pushed in maps.items():
        apps = [
            AppConfig(*names[v], v, tuple(modules.get(v, ())), app_id)
            for app_id, v in pushed.items()
        ]
        configs[device_id] = sorted(apps, key=lambda app: app.application)
    return configs, installed
