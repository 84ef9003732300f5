"""Worker start-up: start-up objects frozen out of garbage collection, a higher threshold, in every worker process."""

from __future__ import annotations

import gc

from celery.signals import worker_init, worker_process_init

from config import celery


def test_the_tuning_runs_when_a_worker_and_each_pool_process_start() -> None:
    assert celery._tune_gc_at_worker_start in [receiver() for _, receiver in worker_init.receivers]
    assert celery._tune_gc_at_pool_process_start in [receiver() for _, receiver in worker_process_init.receivers]


def test_the_tuning_freezes_what_is_alive_and_raises_the_youngest_threshold() -> None:
    before, threshold = gc.get_freeze_count(), gc.get_threshold()
    kept = [object() for _ in range(1000)]
    try:
        celery.worker_gc_tune()
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.is_tracked(kept) and not any(kept is o for o in gc.get_objects())
        assert gc.get_threshold() == (celery.WORKER_GC_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
