from __future__ import annotations

import gc
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("ereceipt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_gc_freeze() -> None:
    """Leave the objects alive at start-up (modules, Django's registries, settings) out of garbage collection.

    They live as long as the process, yet every full collection walks them again:
    ~120,000 objects, ~90 ms per full collection in a signing worker, i.e. ~40 µs per
    receipt signed (bench/README.md). ``gc.freeze`` moves them to the permanent
    generation; objects made later are collected as before. In a forked pool child it
    also keeps the collector from touching (and so copying) the pages it shares with
    its parent.
    """
    gc.collect()
    gc.freeze()


@worker_init.connect
def _freeze_at_worker_start(**_: object) -> None:
    worker_gc_freeze()


@worker_process_init.connect
def _freeze_at_pool_process_start(**_: object) -> None:
    worker_gc_freeze()
