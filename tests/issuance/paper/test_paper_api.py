"""Paper conversion and paper stock through the signed REST API, endpoint by endpoint."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.services import paper_stock_receive, receipt_paper_convert
from issuance.states import ReceiptStatus
from tests.issuance.conftest import error_of, fields_of
from tests.issuance.paper.conftest import ACTOR, OTHER_CODE, PAPER_CODE, STOCK_URL, paper_url, void_url
from tests.support.api import SignedClient
from zhongtai.audit.services import Actor
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import Unit

USE_FIELDS = {
    "paperCode",
    "paperNumber",
    "state",
    "stateLabel",
    "receiptCode",
    "receiptNumber",
    "printedAt",
    "printedBy",
    "voidReason",
    "voidReasonLabel",
    "voidNote",
    "voidedAt",
    "voidedBy",
    "replaces",
}


# --- POST receipts/{code}/{number}/paper-conversion ----------------------------------------


def test_conversion_prints_on_the_next_number(api: SignedClient, receipt: Receipt, stock: PaperStock) -> None:
    response = api.post(paper_url(receipt))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == USE_FIELDS
    assert body["paperCode"] == PAPER_CODE and body["paperNumber"] == "0000000101"
    assert body["state"] == "printed" and body["stateLabel"] == "已打印"
    assert (body["receiptCode"], body["receiptNumber"]) == (receipt.receipt_code, receipt.number_text)
    assert body["printedBy"] == api.app_id and body["printedAt"].endswith("+08:00")
    assert body["voidReason"] is None and body["replaces"] is None
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED
    # and the receipt lookup shows it converted
    assert api.get(f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}").json()["status"] == (
        "paper_converted"
    )


def test_conversion_on_a_named_number(api: SignedClient, receipt: Receipt, stock: PaperStock) -> None:
    response = api.post(paper_url(receipt), {"paperCode": PAPER_CODE, "paperNumber": "0000000107"})
    assert response.status_code == 201
    assert response.json()["paperNumber"] == "0000000107"


def test_conversion_twice_is_a_conflict(api: SignedClient, receipt: Receipt, stock: PaperStock) -> None:
    api.post(paper_url(receipt))
    body = error_of(api.post(paper_url(receipt)), 409, "PAPER_ALREADY_CONVERTED")
    assert body["extra"]["paperNumber"] == "0000000101"


def test_conversion_of_another_units_receipt_is_not_found(
    other_api: SignedClient, receipt: Receipt, stock: PaperStock
) -> None:
    error_of(other_api.post(paper_url(receipt)), 404, "RECEIPT_NOT_FOUND")
    assert not PaperUse.objects.exists()


def test_conversion_with_a_read_only_credential_is_forbidden(
    read_only_api: SignedClient, receipt: Receipt, stock: PaperStock
) -> None:
    error_of(read_only_api.post(paper_url(receipt)), 403, "SCOPE_READ_ONLY")
    assert not PaperUse.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paperCode": PAPER_CODE, "paperNumber": "101"}, "paperNumber"),
        ({"paperCode": PAPER_CODE, "paperNumber": 101}, "paperNumber"),
        ({"paperCode": "4301012", "paperNumber": "0000000101"}, "paperCode"),
        ({"paperNumber": "0000000101"}, "paperCode"),
        ({"paperCode": PAPER_CODE, "copies": 2}, "copies"),
        (["paperCode"], ""),
    ],
    ids=["short-number", "number-not-string", "short-code", "number-without-code", "unknown-field", "not-an-object"],
)
def test_conversion_with_bad_input_is_refused(
    api: SignedClient, receipt: Receipt, stock: PaperStock, body: Any, field: str
) -> None:
    assert field in fields_of(api.post(paper_url(receipt), body))
    assert not PaperUse.objects.exists()


def test_conversion_with_a_malformed_receipt_number_is_refused(api: SignedClient, receipt: Receipt) -> None:
    assert "receiptNumber" in fields_of(api.post(f"/api/v1/receipts/{receipt.receipt_code}/1/paper-conversion"))


def test_conversion_business_refusals_keep_their_codes(api: SignedClient, receipt: Receipt, stock: PaperStock) -> None:
    error_of(api.post(paper_url(receipt), {"paperCode": OTHER_CODE}), 409, "PAPER_STOCK_EMPTY")
    error_of(
        api.post(paper_url(receipt), {"paperCode": PAPER_CODE, "paperNumber": "0000000999"}),
        422,
        "PAPER_NUMBER_NOT_IN_STOCK",
    )


def test_conversion_refuses_get(api: SignedClient, receipt: Receipt) -> None:
    error_of(api.get(paper_url(receipt)), 405, "METHOD_NOT_ALLOWED")


def test_a_sandbox_credential_may_not_touch_paper(unit: Unit, receipt: Receipt, stock: PaperStock) -> None:
    issued = credential_create(unit=unit, actor=Actor.system("tests"), sandbox=True)
    sandbox = SignedClient(issued.credential.app_id, issued.secret)
    error_of(sandbox.post(paper_url(receipt)), 403, "PAPER_SANDBOX_CREDENTIAL")
    error_of(sandbox.get(STOCK_URL), 403, "PAPER_SANDBOX_CREDENTIAL")
    error_of(sandbox.post(STOCK_URL, _stock_body(201, 210)), 403, "PAPER_SANDBOX_CREDENTIAL")
    assert not PaperUse.objects.exists() and PaperStock.objects.count() == 1


# --- GET receipts/{code}/{number}/paper-conversion/print -----------------------------------


def test_print_gives_the_pdf_of_the_live_copy(
    api: SignedClient, read_only_api: SignedClient, receipt: Receipt, stock: PaperStock
) -> None:
    api.post(paper_url(receipt))
    # a read-only credential may read it too
    for client in (api, read_only_api):
        response = client.get(paper_url(receipt, "/print"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'inline; filename="paper-{PAPER_CODE}-0000000101.pdf"'
        text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
        assert f"No. {PAPER_CODE} 0000000101" in text and receipt.check_code in text


def test_print_without_a_live_copy_is_a_conflict(api: SignedClient, receipt: Receipt) -> None:
    error_of(api.get(paper_url(receipt, "/print")), 409, "PAPER_NOT_CONVERTED")


def test_print_of_another_units_receipt_is_not_found(
    api: SignedClient, other_api: SignedClient, receipt: Receipt, stock: PaperStock
) -> None:
    api.post(paper_url(receipt))
    error_of(other_api.get(paper_url(receipt, "/print")), 404, "RECEIPT_NOT_FOUND")


def test_print_refuses_post(api: SignedClient, read_only_api: SignedClient, receipt: Receipt) -> None:
    error_of(api.post(paper_url(receipt, "/print")), 405, "METHOD_NOT_ALLOWED")
    # a read-only credential's write is refused for its scope first
    error_of(read_only_api.post(paper_url(receipt, "/print")), 403, "SCOPE_READ_ONLY")


# --- POST paper/{paperCode}/{paperNumber}/void ----------------------------------------------


def test_void_of_a_misprint_with_reprint(api: SignedClient, receipt: Receipt, stock: PaperStock) -> None:
    api.post(paper_url(receipt))
    response = api.post(void_url(PAPER_CODE, 101), {"reason": "misprint", "reprint": True, "note": "卡纸"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"voided", "reprinted"}
    assert body["voided"]["state"] == "voided" and body["voided"]["voidReason"] == "misprint"
    assert body["voided"]["voidReasonLabel"] == "打印错误" and body["voided"]["voidNote"] == "卡纸"
    assert body["reprinted"]["paperNumber"] == "0000000102" and body["reprinted"]["replaces"] == "0000000101"
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED


def test_void_of_a_recovered_copy_returns_the_receipt(api: SignedClient, receipt: Receipt, stock: PaperStock) -> None:
    api.post(paper_url(receipt))
    body = api.post(void_url(PAPER_CODE, 101), {"reason": "recovered"}).json()
    assert body["reprinted"] is None and body["voided"]["voidReason"] == "recovered"
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.ISSUED


def test_void_of_a_damaged_blank(api: SignedClient, stock: PaperStock) -> None:
    body = api.post(void_url(PAPER_CODE, 110), {"reason": "damaged", "note": "受潮"}).json()
    assert body["voided"]["voidReason"] == "damaged" and body["voided"]["receiptCode"] is None
    error_of(api.post(void_url(PAPER_CODE, 110), {"reason": "damaged"}), 409, "PAPER_ALREADY_VOIDED")


def test_void_with_a_reason_that_does_not_fit_is_refused(api: SignedClient, stock: PaperStock) -> None:
    error_of(api.post(void_url(PAPER_CODE, 105), {"reason": "misprint"}), 422, "PAPER_VOID_REASON_INVALID")


def test_void_of_another_units_number_is_not_found(
    api: SignedClient, other_api: SignedClient, receipt: Receipt, stock: PaperStock
) -> None:
    api.post(paper_url(receipt))
    for number, reason in ((101, "recovered"), (102, "damaged")):
        error_of(other_api.post(void_url(PAPER_CODE, number), {"reason": reason}), 404, "PAPER_NUMBER_NOT_FOUND")
    assert PaperUse.objects.get().state == PaperUse.State.PRINTED
    assert PaperUse.objects.count() == 1


def test_void_with_a_read_only_credential_is_forbidden(read_only_api: SignedClient, stock: PaperStock) -> None:
    error_of(read_only_api.post(void_url(PAPER_CODE, 105), {"reason": "damaged"}), 403, "SCOPE_READ_ONLY")
    assert not PaperUse.objects.exists()


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (void_url(PAPER_CODE, 105), {"reason": "lost"}, "reason"),
        (void_url(PAPER_CODE, 105), {}, "reason"),
        (void_url(PAPER_CODE, 105), {"reason": "misprint", "reprint": "yes"}, "reprint"),
        (void_url(PAPER_CODE, 105), {"reason": "damaged", "note": "长" * 201}, "note"),
        (void_url(PAPER_CODE, 105), {"reason": "damaged", "why": "x"}, "why"),
        (void_url(PAPER_CODE, "105"), {"reason": "damaged"}, "paperNumber"),
        (void_url("4301012X", 105), {"reason": "damaged"}, "paperCode"),
    ],
    ids=["unknown-reason", "no-reason", "reprint-not-bool", "long-note", "unknown-field", "short-number", "bad-code"],
)
def test_void_with_bad_input_is_refused(api: SignedClient, stock: PaperStock, url: str, body: Any, field: str) -> None:
    assert field in fields_of(api.post(url, body))
    assert not PaperUse.objects.exists()


def test_void_refuses_get(api: SignedClient, stock: PaperStock) -> None:
    error_of(api.get(void_url(PAPER_CODE, 105)), 405, "METHOD_NOT_ALLOWED")


# --- GET / POST paper/stock ---------------------------------------------------------------------


def _stock_body(start: int, end: int, **extra: Any) -> dict[str, Any]:
    return {"paperCode": PAPER_CODE, "startNumber": f"{start:010d}", "endNumber": f"{end:010d}", **extra}


def test_stock_summary_lists_the_units_ranges(
    api: SignedClient, other_api: SignedClient, read_only_api: SignedClient, receipt: Receipt, stock: PaperStock
) -> None:
    receipt_paper_convert(receipt=receipt, actor=ACTOR)
    for client in (api, read_only_api):
        body = client.get(STOCK_URL).json()
        assert body["unitCode"] == receipt.unit.code and body["outstanding"] == 1
        [row] = body["ranges"]
        assert row["paperCode"] == PAPER_CODE
        assert (row["startNumber"], row["endNumber"]) == ("0000000101", "0000000110")
        assert (row["received"], row["used"], row["voided"], row["onHand"]) == (10, 1, 0, 9)
        assert body["total"] == {"received": 10, "used": 1, "voided": 0, "onHand": 9}
    # another unit sees its own (empty) stock, never this one
    other = other_api.get(STOCK_URL).json()
    assert other["ranges"] == [] and other["outstanding"] == 0


def test_stock_receive_records_a_range(api: SignedClient, unit: Unit) -> None:
    response = api.post(STOCK_URL, _stock_body(1, 50, note="2026 年第一批"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["startNumber"], body["endNumber"], body["received"], body["onHand"]) == (
        "0000000001",
        "0000000050",
        50,
        50,
    )
    stock = PaperStock.objects.get()
    assert stock.unit == unit and stock.recorded_by == api.app_id and stock.note == "2026 年第一批"


def test_stock_receive_refuses_an_overlap_even_with_another_units_range(api: SignedClient, other_unit: Unit) -> None:
    paper_stock_receive(unit=other_unit, paper_code=PAPER_CODE, start_number=40, end_number=60, actor=ACTOR)
    error_of(api.post(STOCK_URL, _stock_body(1, 50)), 409, "PAPER_STOCK_OVERLAP")


def test_stock_receive_with_a_read_only_credential_is_forbidden(read_only_api: SignedClient) -> None:
    error_of(read_only_api.post(STOCK_URL, _stock_body(1, 50)), 403, "SCOPE_READ_ONLY")
    assert not PaperStock.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"paperCode": PAPER_CODE, "startNumber": 1, "endNumber": "0000000050"}, 400, "INVALID_INPUT"),
        ({"paperCode": PAPER_CODE, "startNumber": "0000000001"}, 400, "INVALID_INPUT"),
        (_stock_body(1, 50, extra="x"), 400, "INVALID_INPUT"),
        (_stock_body(0, 50), 400, "PAPER_RANGE_INVALID"),
        (_stock_body(50, 1), 400, "PAPER_RANGE_INVALID"),
        (_stock_body(1, 100_001), 400, "PAPER_RANGE_INVALID"),
    ],
    ids=["number-not-string", "no-end", "unknown-field", "zero", "reversed", "too-many"],
)
def test_stock_receive_with_bad_input_is_refused(
    api: SignedClient, unit: Unit, body: dict[str, Any], status: int, code: str
) -> None:
    error_of(api.post(STOCK_URL, body), status, code)
    assert not PaperStock.objects.exists()


def test_stock_refuses_other_methods(api: SignedClient, unit: Unit) -> None:
    error_of(api.request("PUT", STOCK_URL, _stock_body(1, 2)), 405, "METHOD_NOT_ALLOWED")
    error_of(api.request("DELETE", STOCK_URL), 405, "METHOD_NOT_ALLOWED")
