"""Admin pages of the CA: read-only lists and details, revocation as the only action."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from zhongtai.accounts.models import Profile
from zhongtai.audit.models import AuditEvent
from zhongtai.signing.models import Certificate, CertificateAuthority
from zhongtai.signing.services import CaHierarchy, crl_generate

from .conftest import ACTOR


@pytest.fixture
def admin_client(db: Any) -> Client:
    User.objects.create_superuser("province", "p@example.org", "pw-Admin-2026")
    client = Client()
    client.login(username="province", password="pw-Admin-2026")
    return client


@pytest.fixture
def viewer_client(province: Any) -> Client:
    # The workbench admits bureau roles only; this one may view certificates but not change them.
    user = User.objects.create_user("auditor", password="pw-Auditor-2026", is_staff=True)
    Profile.objects.create(user=user, role="bureau_staff", region=province)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_certificate", "view_certificateauthority"])
    )
    client = Client()
    client.login(username="auditor", password="pw-Auditor-2026")
    return client


def test_lists_and_details_render_without_key_material(
    admin_client: Client, ca: CaHierarchy, unit_certificate: Certificate
) -> None:
    crl_generate(actor=ACTOR)
    for url in (
        "/admin/signing/certificateauthority/",
        f"/admin/signing/certificateauthority/{ca.root.pk}/change/",
        "/admin/signing/certificate/",
        f"/admin/signing/certificate/{unit_certificate.pk}/change/",
        "/admin/signing/revocationlist/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "sm2k1$" not in response.content.decode()
    page = admin_client.get("/admin/signing/certificate/").content.decode()
    assert unit_certificate.serial_number in page and "吊销所选证书：密钥泄露" in page


def test_pages_are_read_only(admin_client: Client, unit_certificate: Certificate) -> None:
    assert admin_client.get("/admin/signing/certificate/add/").status_code == 403
    response = admin_client.post(f"/admin/signing/certificate/{unit_certificate.pk}/change/", {"subject": "CN=forged"})
    assert response.status_code == 403
    assert admin_client.get(f"/admin/signing/certificate/{unit_certificate.pk}/delete/").status_code == 403
    unit_certificate.refresh_from_db()
    assert unit_certificate.subject != "CN=forged"


def test_admin_action_revokes_and_audits(admin_client: Client, unit_certificate: Certificate) -> None:
    response = admin_client.post(
        "/admin/signing/certificate/",
        {"action": "revoke_key_compromise", "_selected_action": [unit_certificate.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "已吊销 1 张证书（密钥泄露）" in response.content.decode()
    unit_certificate.refresh_from_db()
    assert (unit_certificate.status, unit_certificate.revocation_reason) == ("revoked", "key_compromise")
    assert AuditEvent.objects.get(action="certificate.revoke").actor == "province"


def test_admin_action_reports_refusals(admin_client: Client, ca: CaHierarchy) -> None:
    assert ca.root.certificate is not None
    response = admin_client.post(
        "/admin/signing/certificate/",
        {"action": "revoke_superseded", "_selected_action": [ca.root.certificate.pk]},
        follow=True,
    )
    assert "根 CA 证书不能吊销" in response.content.decode()
    assert CertificateAuthority.objects.get(pk=ca.root.pk).certificate.status == "valid"  # type: ignore[union-attr]


def test_a_viewer_sees_the_list_but_cannot_revoke(viewer_client: Client, unit_certificate: Certificate) -> None:
    page = viewer_client.get("/admin/signing/certificate/")
    assert page.status_code == 200 and unit_certificate.serial_number in page.content.decode()
    assert "吊销所选证书" not in page.content.decode()
    viewer_client.post(
        "/admin/signing/certificate/", {"action": "revoke_key_compromise", "_selected_action": [unit_certificate.pk]}
    )
    unit_certificate.refresh_from_db()
    assert unit_certificate.status == Certificate.Status.VALID
