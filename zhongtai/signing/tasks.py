"""Periodic CA work. CRLs are valid for 7 days: publish one daily so verifiers never see a stale one."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from zhongtai.audit.services import Actor
from zhongtai.signing.models import CertificateAuthority
from zhongtai.signing.selectors import certificates_expiring
from zhongtai.signing.services import crl_generate

logger = logging.getLogger(__name__)


@shared_task(time_limit=120, soft_time_limit=100)
def crl_publish_task() -> list[int]:
    """A new CRL from every active CA (root and issuing); returns the new CRL numbers."""
    actor = Actor.system("celery crl_publish_task")
    return [
        crl_generate(actor=actor, authority=authority).crl_number
        for authority in CertificateAuthority.objects.filter(status=CertificateAuthority.Status.ACTIVE)
        .select_related("certificate", "region")
        .order_by("id")
    ]


@shared_task(time_limit=120, soft_time_limit=100)
def certificates_expiry_warn_task(within_days: int = 30) -> list[str]:
    """Log a warning for every valid certificate expiring soon, so that monitoring raises it daily."""
    warned = []
    now = timezone.now()
    for certificate in certificates_expiring(within_days=within_days, now=now):
        logger.warning(
            "certificate %s (%s, %s) expires on %s, in %s days: renew it",
            certificate.serial_number,
            certificate.get_role_display(),
            certificate.holder_label,
            timezone.localtime(certificate.not_after).isoformat(),
            (certificate.not_after - now).days,
        )
        warned.append(certificate.serial_number)
    return warned
