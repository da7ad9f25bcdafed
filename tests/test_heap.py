"""The collector around big loads: pauses counted across threads, and garbage among settled
objects collected in the end (a tray app runs for weeks)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from appupdater import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """Two objects that refer to each other, reachable from nowhere else once this returns."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def _nothing_settled_after():
    yield
    gc.unfreeze()
    assert gc.isenabled()


def test_pauses_nest_and_the_outermost_end_resumes():
    assert gc.isenabled()
    with heap.gc_paused():
        with heap.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_ending_in_one_thread_leaves_another_threads_pause_alone():
    """Thread A pauses, B pauses, A ends: B is still paused. Then B ends: collection is on
    again. (With a per-call saved flag, B could end up re-enabling nothing, or A could
    re-enable under B.)"""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with heap.gc_paused():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second():
        a_in.wait(5)
        with heap.gc_paused():
            b_in.set()
            a_out.wait(5)
            seen["during"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["during"] is False
    assert gc.isenabled()


def test_a_pause_never_turns_collection_on_if_it_was_off():
    gc.disable()
    try:
        with heap.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_among_settled_objects_waits_for_collect_settled():
    ref = cycle()
    heap.settle()
    assert heap.settled_count() > 0
    gc.collect()
    assert ref() is not None, "a full collection does not look at settled objects"
    found = heap.collect_settled()
    assert ref() is None and found >= 2
    assert heap.settled_count() > 0  # what survived is settled again


def test_collections_are_due_only_after_a_settle():
    heap.collect_settled()
    assert heap.settles_since_collect() == 0
    heap.settle()
    heap.settle()
    assert heap.settles_since_collect() == 2
    heap.collect_settled()
    assert heap.settles_since_collect() == 0
