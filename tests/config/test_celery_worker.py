"""Worker start-up: the objects alive at start leave garbage collection, in the worker and in each pool process."""

from __future__ import annotations

import gc

from celery.signals import worker_init, worker_process_init

from config import celery


def test_the_freeze_runs_when_a_worker_and_each_pool_process_start() -> None:
    assert celery._freeze_at_worker_start in [receiver() for _, receiver in worker_init.receivers]
    assert celery._freeze_at_pool_process_start in [receiver() for _, receiver in worker_process_init.receivers]


def test_the_freeze_moves_what_is_alive_to_the_permanent_generation() -> None:
    before = gc.get_freeze_count()
    kept = [object() for _ in range(1000)]
    try:
        celery.worker_gc_freeze()
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.is_tracked(kept) and not any(kept is o for o in gc.get_objects())
    finally:
        gc.unfreeze()
