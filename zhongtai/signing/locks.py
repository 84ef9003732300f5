"""Row locks of the signing app, taken in one fixed order: region, then CA, then certificate.

Signing is fast (milliseconds) but key generation and unsealing still happen before
these locks are taken, so that a lock is held only for the writes.
"""

from __future__ import annotations

from django.db import transaction

from zhongtai.masterdata.models import Region
from zhongtai.signing.models import Certificate, CertificateAuthority


def _assert_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock outside a transaction")


def lock_region(*, region_id: int) -> Region:
    """Serialises CA bootstrap of a province (on SQLite the IMMEDIATE transaction does it)."""
    _assert_atomic()
    return Region.objects.select_for_update(of=("self",)).get(id=region_id)


def lock_authority(*, authority_id: int) -> CertificateAuthority:
    _assert_atomic()
    return CertificateAuthority.objects.select_for_update(of=("self",)).get(id=authority_id)


def lock_certificate(*, certificate_id: int) -> Certificate:
    _assert_atomic()
    return Certificate.objects.select_for_update(of=("self",)).get(id=certificate_id)
