"""Concurrent ca_bootstrap calls on PostgreSQL end with exactly one root and one issuing CA."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.support.factories import FinanceBureauFactory, RegionFactory
from zhongtai.audit.models import AuditEvent
from zhongtai.masterdata.models import Region
from zhongtai.signing.models import Certificate, CertificateAuthority
from zhongtai.signing.services import ca_bootstrap

from .conftest import ACTOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_bootstraps_create_one_hierarchy() -> None:
    province = RegionFactory(code="430000", name="湖南省", level=Region.Level.PROVINCE)
    FinanceBureauFactory(region=province, name="湖南省财政厅")
    threads = 6
    barrier = threading.Barrier(threads)
    results: list[tuple[int, int, bool]] = []
    errors: list[BaseException] = []

    def bootstrap() -> None:
        try:
            barrier.wait()
            hierarchy = ca_bootstrap(province=province, actor=ACTOR)
            results.append((hierarchy.root.pk, hierarchy.issuing.pk, hierarchy.created))
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=bootstrap) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert len({(root, issuing) for root, issuing, _ in results}) == 1
    assert sum(created for _, _, created in results) == 1
    assert CertificateAuthority.objects.count() == 2
    assert Certificate.objects.count() == 2
    assert AuditEvent.objects.filter(action="ca.create").count() == 2
