"""The sign step reads receipts as rows and stores their files without a directory per receipt.

``issuance.pipeline._load_rows`` gives the builder the receipts' columns, lines, units and
kinds without building model instances; what it builds from them must be, byte for byte,
what ``receipt_xml_build`` builds from the Receipt itself. ``_receipt_file_path`` names
files ``receipts/<code>/<number // 10,000>/<number>-<file>`` (sandbox apart).
"""

from __future__ import annotations

import posixpath
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from issuance import pipeline
from issuance.datafile import receipt_xml_build
from issuance.models import Receipt, SignStatus, _receipt_file_path
from issuance.payload import parse_issue_input
from issuance.red_offset import receipt_red_offset
from issuance.services import receipt_issue
from tests.conftest import nontax_payload, outpatient_payload
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit

ACTOR = Actor.system("tests")


def _issue(unit: Unit, payload: dict[str, Any], *, sandbox: bool = False) -> Receipt:
    data, errors = parse_issue_input(payload, require_bus_no=False)
    assert data is not None, errors.fields
    receipt, created = receipt_issue(unit=unit, data=data, actor=ACTOR, source=Receipt.Source.API, sandbox=sandbox)
    assert created
    return receipt


@pytest.fixture
def receipts(unit: Unit, pki: dict[str, Any]) -> list[Receipt]:
    """A non-tax receipt with characters XML escapes, a medical one (kind fields), its red receipt, a sandbox one."""
    plain = _issue(unit, nontax_payload("ROWS1", payer={"type": 2, "name": "A&B <联合> 公司"}, remark="备注 > 1"))
    medical = _issue(unit, outpatient_payload("ROWS2"))
    assert pipeline.receipts_sign([medical.pk]) == {medical.pk: None}  # only a signed receipt is red-offset
    red, created = receipt_red_offset(receipt=medical, reason="退费", actor=ACTOR, source=Receipt.Source.API)
    assert created
    sandbox = _issue(unit, nontax_payload("ROWS3"), sandbox=True)
    return [plain, medical, red, sandbox]


def test_rows_build_the_same_data_file_as_the_receipts(receipts: list[Receipt]) -> None:
    # given receipts of two kinds, a red one and a sandbox one
    ids = [receipt.pk for receipt in receipts]
    # when the sign step loads them as rows
    with CaptureQueriesContext(connection) as queries:
        rows = pipeline._load_rows(ids)
    # then in five queries (receipts, lines, units, kinds, the red receipt's original) ...
    assert len(queries.captured_queries) == 5
    assert [row.pk for row in rows] == sorted(ids)
    # ... each row builds, byte for byte, the data file its Receipt builds
    for row in rows:
        receipt = Receipt.objects.get(pk=row.pk)
        assert receipt_xml_build(row, items=row.items) == receipt_xml_build(receipt)  # type: ignore[arg-type]
        assert (row.unit, row.kind, row.sign_status, row.number_shared) == (
            receipt.unit,
            receipt.kind,
            receipt.sign_status,
            False,
        )
    assert [row.sign_status for row in rows].count(SignStatus.PENDING) == 3
    red = next(row for row in rows if row.is_red)
    assert red.related_receipt is not None
    assert (red.related_receipt.receipt_code, red.related_receipt.number_text) == (
        receipts[1].receipt_code,
        receipts[1].number_text,
    )


def test_rows_of_blue_receipts_take_four_queries_and_missing_ids_none(unit: Unit) -> None:
    receipt = _issue(unit, nontax_payload("ROWS4"))
    with CaptureQueriesContext(connection) as queries:
        rows = pipeline._load_rows([receipt.pk, receipt.pk + 1000])
    assert len(queries.captured_queries) == 4
    assert [row.pk for row in rows] == [receipt.pk]
    assert [line.line_no for line in rows[0].items] == [line.line_no for line in receipt.items.all()]
    assert pipeline._load_rows([receipt.pk + 1000]) == []


@pytest.mark.parametrize(
    ("sandbox", "number", "expected"),
    [
        (False, 1, "receipts/43010126/000000/0000000001-einvoice.xml"),
        (False, 9_999, "receipts/43010126/000000/0000009999-einvoice.xml"),
        (False, 10_000, "receipts/43010126/000001/0000010000-einvoice.xml"),
        (False, 9_999_999_999, "receipts/43010126/999999/9999999999-einvoice.xml"),
        (True, 10_000, "receipts/sandbox/43010126/000001/0000010000-einvoice.xml"),
    ],
)
def test_file_names_group_ten_thousand_numbers_per_directory(sandbox: bool, number: int, expected: str) -> None:
    receipt = Receipt(receipt_code="43010126", number=number, sandbox=sandbox)
    assert _receipt_file_path(receipt, "einvoice.xml") == expected


def test_a_signed_chunk_stores_its_files_side_by_side(unit: Unit, pki: dict[str, Any]) -> None:
    # given three receipts of one code with consecutive numbers
    receipts = [_issue(unit, nontax_payload(f"ROWS5{n}")) for n in range(3)]
    # when the sign step signs them together
    outcomes = pipeline.receipts_sign([receipt.pk for receipt in receipts])
    # then each has its own file, named after its number, in one directory
    assert outcomes == dict.fromkeys(outcomes)
    names = [Receipt.objects.get(pk=receipt.pk).datafile.name for receipt in receipts]
    assert len({posixpath.dirname(name) for name in names}) == 1
    for receipt, name in zip(receipts, names, strict=True):
        assert posixpath.basename(name).startswith(f"{receipt.number_text}-einvoice")
        assert name.endswith(".xml")
