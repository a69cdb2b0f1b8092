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
