"""The front door, the error pages, the health check and every admin page answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from zhongtai.accounts import totp
from zhongtai.accounts.services import totp_provision, user_create
from zhongtai.audit.services import Actor

ADMIN_MODELS = [
    "accounts/profile",
    "audit/auditevent",
    "masterdata/region",
    "masterdata/financebureau",
    "masterdata/unit",
    "masterdata/issuingpoint",
    "masterdata/receiptkind",
    "masterdata/feeitem",
    "masterdata/feestandard",
    "numbering/numbersequence",
    "numbering/numberrange",
    "gateway/apicredential",
    "issuance/receipt",
    "issuance/receiptjob",
    "signing/certificateauthority",
    "signing/certificate",
]


@pytest.fixture
def staff(province: Any) -> Client:
    """The province administrator, signed in through the real pages: password, then TOTP.

    Every admin page below is therefore reached the way a bureau reaches it, with the role
    group's permissions and the region scoping, not as an all-powerful superuser.
    """
    secret = totp.secret_generate()
    user = user_create(
        username="province",
        password="pw-Admin-2026",
        role="province_admin",
        display_name="省级管理员",
        region=province,
        actor=Actor.system("tests"),
    )
    totp_provision(user=user, secret=secret, actor=Actor.system("tests"), now=timezone.now())
    client = Client()
    password_step = client.post("/accounts/login/", {"username": "province", "password": "pw-Admin-2026"})
    assert password_step["Location"] == "/accounts/login/verify/"
    code_step = client.post("/accounts/login/verify/", {"code": totp.totp(secret, timezone.now())})
    assert code_step.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    return client


def test_home_page_shows_the_platform_and_its_entry_points(client: Client, unit: Any) -> None:
    page = client.get("/").content.decode()
    assert "财政电子票据管理系统" in page
    assert "/admin/" in page and "/api/docs/" in page


def test_unknown_page_is_a_chinese_404(client: Client, db: Any) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_health_check_reports_the_database(client: Client, db: Any) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"].startswith("ok")
    assert ("redis" in body) == bool(settings.REDIS_URL)


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_every_admin_list_answers(staff: Client, unit: Any, api: Any, model: str) -> None:
    api.post(
        "/api/v1/receipts/issue",
        {
            "busNo": "ADMIN1",
            "kindCode": "0101",
            "payer": {"type": 1, "name": "张三"},
            "items": [{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}],
            "totalAmount": "10.00",
        },
    )
    assert staff.get(f"/admin/{model}/").status_code == 200


@pytest.mark.parametrize(
    "model", ["masterdata/region", "masterdata/unit", "masterdata/feeitem", "masterdata/receiptkind"]
)
def test_master_data_add_forms_answer(staff: Client, model: str) -> None:
    assert staff.get(f"/admin/{model}/add/").status_code == 200


def test_admin_refuses_a_unit_with_a_bad_credit_code(staff: Client, furong: Any) -> None:
    response = staff.post(
        "/admin/masterdata/unit/add/",
        {
            "code": "430102777",
            "name": "测试单位",
            "credit_code": "12430102000000000X",
            "unit_type": "agency",
            "connection_mode": "networked",
            "region": furong.pk,
            "valid_from": "2026-01-01",
            "status": "active",
            "numbering_mode": "auto",
            "issuing_points-TOTAL_FORMS": "0",
            "issuing_points-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "统一社会信用代码" in response.content.decode()


def test_dead_jobs_are_requeued_from_the_admin(staff: Client, api: Any) -> None:
    from django.utils import timezone

    from issuance.models import Receipt, ReceiptJob

    api.post(
        "/api/v1/receipts/issue",
        {
            "busNo": "ADMIN2",
            "kindCode": "0101",
            "payer": {"type": 1, "name": "张三"},
            "items": [{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}],
            "totalAmount": "10.00",
        },
    )
    job = ReceiptJob.objects.get(receipt=Receipt.objects.get(bus_no="ADMIN2"), step="sign")
    ReceiptJob.objects.filter(pk=job.pk).update(state=ReceiptJob.State.DEAD, attempts=6, last_error="证书缺失")
    staff.post("/admin/issuance/receiptjob/", {"action": "requeue", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert (job.state, job.attempts, job.last_error) == (ReceiptJob.State.PENDING, 0, "")
    assert job.available_at <= timezone.now()
