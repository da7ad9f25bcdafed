"""Fleets for the domain tests, each named for what it holds."""

from __future__ import annotations

import pytest

from tests.helpers import CATALOG, devices_yaml, load_yaml


@pytest.fixture
def planning_cases(db):
    """One device per case of the affected-device rule (DESIGN.md), named for its case."""
    load_yaml(
        CATALOG
        + devices_yaml(
            # behind on both: from the configured version
            "{name: a-behind, site: S1, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
            # configured ahead of installed, still behind the target: from configured
            "{name: b-ahead, applications: {line-monitor: {configured: '1.5.0', installed: '1.0.0'}}}",
            # configured at target, installed behind: from installed
            "{name: c-configured, applications: {line-monitor: {configured: '2.1.0-rc.1', installed: '1.5.0'}}}",
            # up to date: not affected
            "{name: d-current, applications: {line-monitor: {configured: '2.1.0-rc.1', installed: '2.1.0-rc.1'}}}",
            # only installed known
            "{name: e-installed, applications: {line-monitor: {installed: '1.0.0'}}}",
            # neither configured nor installed: not affected
            "{name: f-neither, applications: {line-monitor: {}}}",
            # two applications
            "{name: g-both, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
            # newer than a non-latest target
            "{name: h-newer, applications: {line-monitor: {configured: '2.1.0-rc.1', installed: '1.0.0'}}}",
            # no line-monitor at all
            "{name: i-other, applications: {edge-gateway: {configured: '3.10', installed: '3.9'}}}",
        )
    )


@pytest.fixture
def three_presses(db):
    """press-01 on line-monitor and edge-gateway, press-02 configured ahead of what it runs,
    press-03 plain: the smallest fleet where a run touches two applications."""
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
            "{name: press-02, applications: {line-monitor: {configured: '1.5.0', installed: '1.0.0'}}}",
            "{name: press-03, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
        )
    )
