"""Garbage is collected on the GUI thread only while the Qt-asyncio loop is open."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

from biofeedback.ui.event_loop import close_event_loop, create_event_loop


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_a_cycle_dropped_by_a_worker_thread_is_collected_on_the_gui_thread(qapp):
    loop = create_event_loop(qapp)
    try:
        assert not gc.isenabled()
        collected_on: list[str] = []

        def allocate_in_a_worker() -> tuple[weakref.ref[_Node], list[list[int]]]:
            node = _Node()
            ref = weakref.ref(node, lambda _r: collected_on.append(threading.current_thread().name))
            del node
            # Far past the young generation's threshold: with automatic collection on, this
            # thread would run the collector (and free the cycle) right here.
            keep = [[i] for i in range(5 * gc.get_threshold()[0])]
            return ref, keep

        async def scenario() -> tuple[bool, bool]:
            ref, keep = await asyncio.to_thread(allocate_in_a_worker)
            alive_after_worker = ref() is not None
            await asyncio.sleep(0.6)  # the GUI-thread timer checks every 0.25 s
            del keep
            return alive_after_worker, ref() is None

        alive_after_worker, freed_later = loop.run_until_complete(scenario())
        assert alive_after_worker
        assert freed_later
        assert collected_on == [threading.main_thread().name]
    finally:
        close_event_loop(loop)
    assert gc.isenabled()


def test_long_lived_objects_are_frozen_and_thawed_garbage_is_found_again(qapp):
    from biofeedback.ui.gui_gc import GuiThreadCollector, thaw_long_lived

    collector = GuiThreadCollector(interval_ms=10_000)  # driven by hand here
    collector.start()
    try:
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0  # what start-up imported is long-lived
        gc.unfreeze()
        # A full collection that is due: its survivors are frozen after it.
        survivor = _Node()
        keep = [[i] for i in range(2000)]
        thresholds = gc.get_threshold()
        for _ in range(thresholds[2] + 1):
            gc.collect(1)  # each counts for the oldest generation
        for _ in range(thresholds[1] + 1):
            gc.collect(0)  # each counts for the middle one
        keep += [[i] for i in range(thresholds[0] + 1)]  # and the young one is due
        collector.collect_due()
        frozen = gc.get_freeze_count()
        assert frozen >= len(keep)
        # So a cycle among them that is dropped is not found by the next passes...
        ref = weakref.ref(survivor)
        del survivor
        gc.collect()
        assert ref() is not None
        # ...until they are thawed (a session ended), when a full pass finds it.
        thaw_long_lived()
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert ref() is None
        # A module imported since the last check (in any thread): frozen at the next one.
        import sys
        import types

        sys.modules["_gui_gc_test_module"] = types.ModuleType("_gui_gc_test_module")
        try:
            collector.collect_due()
            assert gc.get_freeze_count() > 0
        finally:
            del sys.modules["_gui_gc_test_module"]
        del keep
    finally:
        collector.stop()
    assert gc.isenabled() and gc.get_freeze_count() == 0
