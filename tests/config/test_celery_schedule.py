"""Every periodic task can be sent as beat sends it, and every task's time limits are consistent."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app


def _our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


@pytest.mark.parametrize("name", _our_tasks())
def test_a_task_soft_limit_is_within_its_hard_limit(name: str) -> None:
    # given a task of ours / then Celery accepts its limits (apply_async refuses a soft limit above the hard one)
    task = app.tasks[name]
    soft = task.soft_time_limit or app.conf.task_soft_time_limit
    hard = task.time_limit or app.conf.task_time_limit
    assert soft is not None and hard is not None and soft <= hard, (name, soft, hard)


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_entry_names_a_registered_task(entry: str) -> None:
    # given a periodic entry / then beat finds its task in this app (it would otherwise only log an error)
    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in _our_tasks()


@pytest.mark.django_db
@pytest.mark.parametrize("entry", sorted(name for name in settings.CELERY_BEAT_SCHEDULE if name.startswith("sweep-")))
def test_a_sweep_runs_when_beat_applies_it_in_the_embedded_default(entry: str) -> None:
    # given the embedded default (tasks in-process), as bin/serve.sh runs beat there
    task = app.tasks[settings.CELERY_BEAT_SCHEDULE[entry]["task"]]
    # when beat applies the entry the way it does (apply_async) / then the sweep runs here and returns
    result = task.apply_async()
    assert result.successful(), result.traceback
