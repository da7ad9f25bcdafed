"""The naming rule shared by the fleet file and the agent."""

from __future__ import annotations

import pytest

from appupdater.names import is_safe_name, name_problem


@pytest.mark.parametrize(
    "text",
    ["line-monitor", "1.2.3", "v2.0.0-rc.1+build.5", "a", "A_b.c+d-e", "x" * 128, "currently"],
)
def test_names_that_are_safe(text):
    assert name_problem(text) is None
    assert is_safe_name(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("current", "reserved"),
        ("Current", "reserved"),
        ("CURRENT", "reserved"),
        ("../../etc", "contains '/'"),
        ("a/b", "contains '/'"),
        ("1.2.3\n", "contains '\\n'"),
        ("١.٢.٣", "ASCII"),
        ("１.０", "ASCII"),
        ("line-monitor=2.0", "contains '='"),
        (".hidden", "must start"),
        ("..", "must start"),
        ("-x", "must start"),
        ("", "non-empty"),
        (None, "non-empty text"),
        (3, "non-empty text"),
        ("x" * 129, "at most 128"),
        ("a b", "contains ' '"),
    ],
)
def test_names_that_are_refused_say_why(text, says):
    problem = name_problem(text)
    assert problem is not None and says in problem
    assert not is_safe_name(text)
