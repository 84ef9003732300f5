"""Periodic CA work. CRLs are valid for 7 days: publish one daily so verifiers never see a stale one."""

from __future__ import annotations

from celery import shared_task

from zhongtai.audit.services import Actor
from zhongtai.signing.models import CertificateAuthority
from zhongtai.signing.services import crl_generate


@shared_task(time_limit=120)
def crl_publish_task() -> list[int]:
    """A new CRL from every active CA (root and issuing); returns the new CRL numbers."""
    actor = Actor.system("celery crl_publish_task")
    return [
        crl_generate(actor=actor, authority=authority).crl_number
        for authority in CertificateAuthority.objects.filter(status=CertificateAuthority.Status.ACTIVE)
        .select_related("certificate", "region")
        .order_by("id")
    ]
