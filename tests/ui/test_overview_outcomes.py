"""What the overview says around an action, without a window: counts in words, no '(s)'."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appupdater.core.overview import DeploymentRow
from appupdater.ui.overview import outcomes

AT = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def row(state: str, scheduled: datetime | None = None) -> DeploymentRow:
    return DeploymentRow(1, 1, 1, "press-01", state, None, 0, 0, scheduled, None, None, None, "", 1)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (outcomes.cancelled(3, 0, 3), "Cancelled 3 deployments."),
        (outcomes.cancelled(1, 0, 1), "Cancelled 1 deployment."),
        (
            outcomes.cancelled(2, 1, 4),
            "Cancelled 2 deployments. Asked 1 running deployment to stop. "
            "The other one had already finished.",
        ),
        (
            outcomes.cancelled(0, 0, 2),
            "Nothing to cancel: the selected deployments had already finished.",
        ),
        (outcomes.retried(2, 2), "Queued 2 deployments again."),
        (outcomes.retried(1, 3), "Queued 1 deployment again. The other 2 had not failed."),
        (outcomes.deployed_now(3, 3), "Queued 3 deployments to deploy now."),
        (
            outcomes.deployed_now(0, 1),
            "Nothing to deploy now: the selected deployment was no longer waiting.",
        ),
        (
            outcomes.deployed_now(1, 2),
            "Queued 1 deployment to deploy now. The other one was not waiting.",
        ),
        (
            outcomes.rescheduled(2, 2, "2026-11-28 17:00"),
            "Rescheduled 2 deployments for 2026-11-28 17:00.",
        ),
        (outcomes.exported(1, 4, "/tmp/r.csv"), "Exported 1 device of run #4 to /tmp/r.csv."),
    ],
)
def test_sentences_with_counts(sentence, expected):
    assert sentence == expected
    assert "(s)" not in sentence


def test_questions_name_the_count_and_what_follows():
    question, detail = outcomes.cancel_question([row("queued"), row("running"), row("scheduled")])
    assert question == "Cancel 3 deployments?"
    assert detail == (
        "2 waiting deployments are cancelled at once; 1 running deployment is asked to stop. "
        "You can retry cancelled deployments later."
    )
    local = lambda moment: moment.strftime("%H:%M")  # noqa: E731
    question, detail = outcomes.deploy_now_question(
        [row("scheduled", AT), row("scheduled", AT)], local
    )
    assert question == "Deploy 2 deployments now?"
    assert (
        detail == "They start as soon as a worker and their device are free, instead of at 16:00."
    )
    _, detail = outcomes.deploy_now_question(
        [row("scheduled", AT), row("scheduled", AT.replace(hour=18)), row("retrying")], local
    )
    assert "between 16:00 and 18:00" in detail and "retrying ones do not wait" in detail
