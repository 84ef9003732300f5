"""The answer page's downloads: signed, expiring links; and a verdict that follows revocations."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from issuance.layout import pdf_extract_xml
from issuance.models import Receipt, ReceiptJob
from tests.verification.conftest import ACTOR, download_links, qr_url
from verification.tokens import FileKind, download_token_make
from zhongtai.signing.services import certificate_revoke


def _stored_xml(receipt: Receipt) -> bytes:
    receipt.refresh_from_db()
    with receipt.datafile.open("rb") as handle:
        return handle.read()


def test_the_answer_page_links_to_both_files(client: Client, receipt: Receipt) -> None:
    # given a verified receipt whose layout file no worker has made yet
    Receipt.objects.filter(pk=receipt.pk).update(layout_file="")
    ReceiptJob.objects.filter(receipt=receipt, step="render").update(state=ReceiptJob.State.PENDING)
    links = download_links(client.get(qr_url(receipt)))
    assert set(links) == {"pdf", "xml"}
    # when both are downloaded
    pdf = client.get(links["pdf"])
    xml = client.get(links["xml"])
    # then the PDF (rendered now) carries the signed data file, and the XML is that data file
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f'filename="{receipt.receipt_code}-{receipt.number_text}.pdf"' in pdf["Content-Disposition"]
    assert pdf_extract_xml(pdf.content) == _stored_xml(receipt)
    assert xml.status_code == 200 and xml["Content-Type"] == "application/xml"
    assert xml.content == _stored_xml(receipt)
    assert pdf["Cache-Control"] == "no-store"


def test_a_forged_or_altered_link_is_refused(client: Client, receipt: Receipt) -> None:
    links = download_links(client.get(qr_url(receipt)))
    token = links["xml"].rstrip("/").rsplit("/", 1)[1]
    # a token with one character changed, and one made up for the next receipt id
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for url in (f"/verify/download/{altered}/", f"/verify/download/{receipt.pk + 1}/", "/verify/download/x/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "下载链接无效或已过期" in response.content.decode()


def test_a_link_expires(client: Client, receipt: Receipt, settings: Any) -> None:
    settings.EREC_VERIFY_DOWNLOAD_SECONDS = 1
    links = download_links(client.get(qr_url(receipt)))
    time.sleep(1.2)
    assert client.get(links["pdf"]).status_code == 404


def test_a_link_to_a_sandbox_receipt_finds_nothing(client: Client, sandbox_receipt: Receipt) -> None:
    # even a genuinely signed token cannot reach a receipt that the public may not see
    token = download_token_make(receipt_id=sandbox_receipt.pk, kind=FileKind.XML)
    assert client.get(f"/verify/download/{token}/").status_code == 404


def test_the_verdict_is_cached_and_a_revocation_voids_it(client: Client, receipt: Receipt, pki: Any) -> None:
    # given a receipt verified genuine twice: the second time from the cached verdict (fewer queries:
    # no certificate lookups)
    with CaptureQueriesContext(connection) as first:
        assert "查验通过：该票据为真" in client.get(qr_url(receipt)).content.decode()
    with CaptureQueriesContext(connection) as second:
        assert "查验通过：该票据为真" in client.get(qr_url(receipt)).content.decode()
    assert len(second.captured_queries) < len(first.captured_queries)
    # when the unit's signing key is reported stolen and its certificate revoked
    certificate_revoke(certificate=pki["unit_cert"], reason="key_compromise", actor=ACTOR)
    # then the next verification says the receipt cannot be trusted
    html = client.get(qr_url(receipt)).content.decode()
    assert "签名验证未通过：该票据不可信" in html
    assert "吊销" in html
