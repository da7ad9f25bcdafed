from appupdater.core.words import noun, plural


def test_plural_counts_in_words():
    assert plural(1, "deployment") == "1 deployment"
    assert plural(0, "deployment") == "0 deployments"
    assert plural(12_000, "device") == "12,000 devices"
    assert plural(2, "entry") == "2 entries"
    assert plural(3, "child", "children") == "3 children"
    assert (noun(1, "was"), noun(2, "was")) == ("was", "were")
