"""Every table, in creation order: what a new database is created from (migrations.py) and
what tests drop."""

from __future__ import annotations

from appupdater.store.models import (
    Application,
    AppVersion,
    BaseModel,
    ChangeCounter,
    ConfigRevision,
    Deployment,
    DeploymentEvent,
    Device,
    DeviceApp,
    DeviceHealth,
    EngineInstance,
    Module,
    RunApplication,
    SchemaInfo,
    Target,
    UpdateRun,
)
from appupdater.store.team_models import (
    AuditEntry,
    TeamSetting,
    Webhook,
    WebhookAttempt,
    WebhookEvent,
)

ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaInfo,
    Application,
    AppVersion,
    Module,
    Device,
    DeviceApp,
    UpdateRun,
    RunApplication,
    Target,
    Deployment,
    DeploymentEvent,
    EngineInstance,
    ChangeCounter,
    TeamSetting,
    ConfigRevision,
    AuditEntry,
    DeviceHealth,
    Webhook,
    WebhookEvent,
    WebhookAttempt,
)
