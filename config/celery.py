from __future__ import annotations

import gc
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("ereceipt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Allocations of container objects between two collections of the youngest generation
# (CPython's default is 700). See worker_gc_tune.
WORKER_GC_THRESHOLD = 20_000


def worker_gc_tune() -> None:
    """Garbage collection for a worker: start-up objects frozen out of it, young objects collected less often.

    The objects alive at start-up (modules, Django's registries, settings) live as long as
    the process, yet every full collection walks them again: ~120,000 objects, ~90 ms per
    full collection in a signing worker, ~40 µs per receipt signed. ``gc.freeze`` moves
    them to the permanent generation; in a forked pool child it also keeps the collector
    from touching (and so copying) the pages it shares with its parent. A chunk of
    receipts allocates and frees hundreds of thousands of objects, nearly all freed by
    reference counting at once; collecting the youngest generation every 700 allocations
    cost another ~17 µs per receipt, every 20,000 almost nothing, and what cyclic garbage
    waits in between is a few megabytes at most (bench/README.md, decision 0014).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


@worker_init.connect
def _tune_gc_at_worker_start(**_: object) -> None:
    worker_gc_tune()


@worker_process_init.connect
def _tune_gc_at_pool_process_start(**_: object) -> None:
    worker_gc_tune()
