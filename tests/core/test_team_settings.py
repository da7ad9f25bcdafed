"""The default rollout strategy is shared through the database: what one workstation sets,
every other one reads, with who changed it and when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appupdater.core.team_settings import (
    default_strategy,
    last_changed,
    set_default_strategy,
)
from appupdater.core.waves import Strategy, StrategyError, parse_waves
from appupdater.store.team_models import TeamSetting

NORM = Strategy(parse_waves("1,10%,rest"), soak_minutes=15, max_failures_percent=5)


def test_all_at_once_until_someone_sets_a_default(db):
    assert default_strategy() is None
    assert last_changed() is None


def test_a_default_is_read_back_with_who_and_when(db):
    when = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    set_default_strategy(NORM, by="alice", now=when)
    assert default_strategy() == NORM
    changed = last_changed()
    assert changed is not None and (changed.by, changed.at) == ("alice", when)


def test_changing_it_again_replaces_it_and_back_to_all_at_once(db):
    set_default_strategy(NORM, by="alice")
    set_default_strategy(Strategy(parse_waves("2,rest")), by="bob")
    assert default_strategy() == Strategy(parse_waves("2,rest"))
    set_default_strategy(None, by="carol")
    assert default_strategy() is None
    assert TeamSetting.select().count() == 1
    assert last_changed().by == "carol"


def test_a_value_this_version_cannot_read_means_all_at_once(db):
    TeamSetting.create(name="default_strategy", value={"spec": "1,lots"}, changed_by="future")
    assert default_strategy() is None
    TeamSetting.update(value={"waves": [1]}).execute()
    assert default_strategy() is None


@pytest.mark.parametrize(
    ("soak", "limit", "message"),
    [
        (0.5, 10, "soak time \\(minutes\\) must be a whole number, not 0.5"),
        (15, 2.5, "failure limit \\(percent\\) must be a whole number, not 2.5"),
    ],
)
def test_a_default_the_windows_would_round_is_refused(db, soak, limit, message):
    set_default_strategy(NORM, by="alice")
    with pytest.raises(StrategyError, match=message):
        set_default_strategy(Strategy(parse_waves("1,rest"), soak, limit), by="bob")
    assert default_strategy() == NORM


def test_the_second_approver_is_off_until_turned_on(db):
    from datetime import timedelta

    from appupdater.core.team_settings import (
        ApprovalPolicy,
        approval_policy,
        set_approval_policy,
    )

    assert approval_policy() == ApprovalPolicy(False, timedelta(hours=24))
    set_approval_policy(ApprovalPolicy(True, timedelta(hours=8)), by="alice")
    assert approval_policy() == ApprovalPolicy(True, timedelta(hours=8))
    assert last_changed("second_approver").by == "alice"
    with pytest.raises(ValueError, match="not 0"):
        set_approval_policy(ApprovalPolicy(True, timedelta(0)), by="bob")
    assert approval_policy().second_approver
    set_approval_policy(ApprovalPolicy(False), by="carol")
    assert not approval_policy().second_approver
    # a value this version cannot read keeps the check on
    TeamSetting.update(value={"on": "yes"}).where(TeamSetting.name == "second_approver").execute()
    assert approval_policy() == ApprovalPolicy(True)
