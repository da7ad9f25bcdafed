from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appupdater.core.versions import parse_version
from appupdater.errors import VersionError


def v(text):
    return parse_version(text)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.9", "1.10"),
        ("1.9.0", "1.10.0"),
        ("2.0.0-rc.1", "2.0.0"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-alpha.beta", "1.0.0-beta"),
        ("1.0.0-beta", "1.0.0-beta.2"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-beta.11", "1.0.0-rc.1"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.2.3.4", "1.2.3.5"),
        ("1.2.3", "1.2.3.1"),
        ("0.9", "0.10.0"),
        ("2022.1", "2023.1"),
        ("1.0.0-9", "1.0.0-a"),
    ],
)
def test_order(lower, higher):
    assert v(lower) < v(higher)
    assert v(higher) > v(lower)
    assert v(lower) != v(higher)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("v1.2", "1.2.0"),
        ("1", "1.0.0.0"),
        ("1.0.0+build.5", "1.0.0"),
        ("v1.0", "1"),
        ("1.0.0-rc.1+x", "1.0.0-rc.1"),
        ("01.2", "1.2"),
    ],
)
def test_equal_precedence(a, b):
    assert v(a) == v(b)
    assert hash(v(a)) == hash(v(b))
    assert str(v(a)) == a  # the original text is kept


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v",
        "1.",
        ".1",
        "1..2",
        "1.2.3.4.5",
        "1.0-",
        "1.0+",
        "1.0.0-rc..1",
        "1.0.0-01",
        "x1.0",
        "1.0 ",
        " 1.0",
        "1.0-béta",
        "latest",
        "1,0",
        # the whole text, ASCII digits only: no trailing newline, no Arabic-Indic or fullwidth
        "1.0\n",
        "1.0.0\n",
        "1.0-rc\n",
        "\u0661.\u0662.\u0663",
        "\uff11.\uff10",
        "1.\u0662",
        "1.0-\u0661",
    ],
)
def test_rejects(text):
    with pytest.raises(VersionError, match="not a version"):
        parse_version(text)


def test_a_version_too_long_for_a_device_says_so():
    # 5000 digits: past Python's int() limit, and far past what a folder name can be
    for text in ("1" * 5000, "1." + "9" * 5000, "1.0-" + "1" * 5000):
        with pytest.raises(VersionError, match=r"5,00[0-9] characters long; at most 128"):
            parse_version(text)


def test_rejects_non_text():
    with pytest.raises(VersionError, match="must be text"):
        parse_version(1.1)


def test_highest_precedence():
    texts = ["1.9", "1.10", "1.10.0-rc.1", "0.99"]
    assert max(texts, key=lambda t: parse_version(t).key) == "1.10"


# ---- properties --------------------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=10**6)
cores = st.lists(numbers, min_size=1, max_size=4)
identifiers = st.one_of(
    numbers.map(str),
    st.from_regex(r"[A-Za-z-][0-9A-Za-z-]{0,6}", fullmatch=True),
)
pre_releases = st.lists(identifiers, min_size=1, max_size=4)


def render(core, pre=None, build=None, prefix=""):
    text = prefix + ".".join(map(str, core))
    if pre:
        text += "-" + ".".join(pre)
    if build:
        text += "+" + build
    return text


def reference_key(core, pre):
    """An independent statement of the rules: pad to four numbers, release after pre-release."""
    padded = list(core) + [0] * (4 - len(core))
    if not pre:
        return (padded, 1, [])
    return (padded, 0, [(0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre])


@given(cores, cores)
def test_numeric_order_matches_numbers(a, b):
    pa = a + [0] * (4 - len(a))
    pb = b + [0] * (4 - len(b))
    assert (v(render(a)) < v(render(b))) == (pa < pb)
    assert (v(render(a)) == v(render(b))) == (pa == pb)


@given(cores, st.one_of(st.none(), pre_releases), cores, st.one_of(st.none(), pre_releases))
def test_order_matches_reference(core_a, pre_a, core_b, pre_b):
    a, b = v(render(core_a, pre_a)), v(render(core_b, pre_b))
    ka, kb = reference_key(core_a, pre_a), reference_key(core_b, pre_b)
    assert (a < b) == (ka < kb)
    assert (a == b) == (ka == kb)


@given(cores, pre_releases)
def test_prerelease_sorts_before_release(core, pre):
    assert v(render(core, pre)) < v(render(core))


@given(
    cores, st.one_of(st.none(), pre_releases), st.from_regex(r"[0-9A-Za-z-]{1,8}", fullmatch=True)
)
def test_prefix_padding_and_build_do_not_matter(core, pre, build):
    plain = v(render(core, pre))
    assert v(render(core, pre, prefix="v")) == plain
    assert v(render(core, pre, build=build)) == plain
    if len(core) < 4:
        assert v(render([*core, 0], pre)) == plain


@given(st.lists(st.tuples(cores, st.one_of(st.none(), pre_releases)), min_size=2, max_size=8))
def test_sorting_is_a_total_order(items):
    versions = [v(render(c, p)) for c, p in items]
    ordered = sorted(versions)
    assert all(x <= y for x, y in itertools.pairwise(ordered))
