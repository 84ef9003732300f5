"""The daily task warns about certificates that expire soon."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from django.utils import timezone

from zhongtai.signing.models import Certificate
from zhongtai.signing.tasks import certificates_expiry_warn_task


def test_a_certificate_expiring_soon_is_warned_about(pki: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    unit_cert: Certificate = pki["unit_cert"]
    Certificate.objects.filter(pk=unit_cert.pk).update(not_after=timezone.now() + datetime.timedelta(days=10))
    with caplog.at_level(logging.WARNING, logger="zhongtai.signing.tasks"):
        warned = certificates_expiry_warn_task(within_days=30)
    assert warned == [unit_cert.serial_number]
    assert unit_cert.serial_number in caplog.text


def test_nothing_is_warned_about_when_all_certificates_are_far_from_expiry(pki: dict[str, Any]) -> None:
    assert certificates_expiry_warn_task(within_days=30) == []
