"""The layout file shows what was signed: LayoutData from the signed XML equals LayoutData from the receipt."""

from __future__ import annotations

from typing import Any

import pytest

from issuance.datafile import datafile_parse
from issuance.layout import layout_data_from_receipt
from issuance.layout.datafile_data import layout_data_from_datafile
from issuance.models import Receipt
from tests.conftest import nontax_payload, outpatient_payload


@pytest.mark.parametrize("payload", [nontax_payload("LD1"), outpatient_payload("LD2")], ids=["nontax", "medical"])
def test_layout_data_from_the_signed_xml_matches_the_receipt(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any, payload: dict[str, Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/receipts/issue", payload).status_code == 201
    receipt = Receipt.objects.get(bus_no=payload["busNo"])
    from_receipt = layout_data_from_receipt(receipt)
    from_xml = layout_data_from_datafile(
        datafile_parse(receipt.datafile.read()),
        province_name="湖南省",
        supervision_seal_name=from_receipt.supervision_seal_name,
    )
    assert from_xml == from_receipt
