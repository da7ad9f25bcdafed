"""Wave sizes, their parsing, and which device goes in which wave (core/waves.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appupdater.core.waves import (
    REST,
    Strategy,
    StrategyError,
    WaveSize,
    assign,
    limit_crossed,
    parse_waves,
)


def test_the_issue_example_on_100_devices():
    strategy = Strategy(parse_waves("1,10%,50%,rest"))
    assert strategy.sizes(100) == [1, 10, 50, 39]
    assert strategy.spec() == "1,10%,50%,rest"


@pytest.mark.parametrize(
    ("spec", "total", "sizes"),
    [
        ("1,rest", 1, [1]),  # nothing left for the rest: no empty wave
        ("5%,rest", 10, [1, 9]),  # rounded down but at least 1
        ("10,10", 25, [10, 15]),  # without a rest the last wave takes what is left
        ("100%", 7, [7]),
        ("3,3,3", 4, [3, 1]),
    ],
)
def test_sizes(spec, total, sizes):
    assert Strategy(parse_waves(spec)).sizes(total) == sizes


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("1,rest,5", "only the last wave can be 'the rest'"),
        ("0,rest", "at least 1 device"),
        ("1,abc", "wave 2 of '1,abc': 'abc' is not a number of devices"),
        ("150%", "at most 100"),
        ("", "'' is not a number"),
    ],
)
def test_bad_specs_name_the_wave(spec, words):
    with pytest.raises(StrategyError, match=words.replace("(", r"\(")):
        Strategy(parse_waves(spec))


def test_soak_and_limit_ranges():
    with pytest.raises(StrategyError, match="soak time"):
        Strategy((REST,), soak_minutes=-1)
    with pytest.raises(StrategyError, match="failure limit"):
        Strategy((REST,), max_failures_percent=101)


def test_devices_fill_the_waves_in_the_given_order():
    strategy = Strategy((WaveSize(count=1), WaveSize(percent=50), REST))
    assert assign([30, 10, 20, 40], strategy) == {30: 1, 10: 2, 20: 2, 40: 3}
    assert assign([1, 2], None) == {}


@given(
    st.lists(
        st.one_of(
            st.integers(1, 50).map(lambda n: WaveSize(count=n)),
            st.integers(1, 100).map(lambda p: WaveSize(percent=p)),
        ),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
    st.integers(0, 500),
)
def test_every_device_gets_exactly_one_wave_in_order(sizes, rest, total):
    strategy = Strategy((*sizes, REST) if rest else tuple(sizes))
    waves = assign(list(range(total)), strategy)
    assert sorted(waves) == list(range(total))
    assert list(waves.values()) == sorted(waves.values())  # in order, waves 1, 2, …
    assert all(n >= 1 for n in strategy.sizes(total))
    assert sum(strategy.sizes(total)) == total


def test_the_limit_waits_for_enough_finished_deployments():
    assert not limit_crossed(failed=1, finished=1, wave_size=10, max_percent=10)  # 1 of 5 needed
    assert limit_crossed(failed=1, finished=1, wave_size=1, max_percent=10)  # a canary of 1
    assert not limit_crossed(failed=1, finished=10, wave_size=10, max_percent=10)  # exactly 10 %
    assert limit_crossed(failed=2, finished=10, wave_size=10, max_percent=10)
