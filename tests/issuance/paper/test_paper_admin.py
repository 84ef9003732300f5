"""Paper stock and uses in the admin: listed and viewable, never added, changed or deleted there."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.services import receipt_paper_convert
from tests.issuance.paper.conftest import ACTOR


@pytest.fixture
def operator(db: Any) -> Client:
    User.objects.create_superuser("operator", "op@example.org", "pw-Admin-2026")
    client = Client()
    client.login(username="operator", password="pw-Admin-2026")
    return client


def test_stock_and_uses_are_listed_and_viewable(operator: Client, receipt: Receipt, stock: PaperStock) -> None:
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    listing = operator.get("/admin/paper/paperstock/")
    assert listing.status_code == 200 and "0000000101" in listing.content.decode()
    assert operator.get("/admin/paper/paperuse/").status_code == 200
    assert operator.get(f"/admin/paper/paperstock/{stock.pk}/change/").status_code == 200
    assert operator.get(f"/admin/paper/paperuse/{use.pk}/change/").status_code == 200


def test_nothing_is_added_changed_or_deleted_in_the_admin(
    operator: Client, receipt: Receipt, stock: PaperStock
) -> None:
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    assert operator.get("/admin/paper/paperstock/add/").status_code == 403
    assert operator.get("/admin/paper/paperuse/add/").status_code == 403
    assert operator.post(f"/admin/paper/paperstock/{stock.pk}/delete/", {"post": "yes"}).status_code == 403
    operator.post(f"/admin/paper/paperstock/{stock.pk}/change/", {"end_number": "999"})
    stock.refresh_from_db()
    assert stock.end_number == 110
    assert PaperUse.objects.get(pk=use.pk).state == PaperUse.State.PRINTED
