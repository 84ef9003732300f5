"""Receipt templates (制样) are data: every kind finds one, and a malformed one is refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from issuance.layout.templates import (
    SPECIMEN_DIR,
    TemplateError,
    all_templates,
    frame_bottom_mm,
    template_for,
    template_from_json,
)
from zhongtai.masterdata.demo_data import KINDS


def default_json() -> dict[str, Any]:
    return json.loads((SPECIMEN_DIR / "default.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.specimen_code)
def test_every_demo_kind_has_a_template_that_fits_its_page(kind: Any) -> None:
    template = template_for(kind.specimen_code)
    assert frame_bottom_mm(template) < template.page_mm[1]
    assert sum(column.width_mm for column in template.columns) == pytest.approx(template.content_width_mm)
    # medical kinds show the insurance split; the others have no such row
    assert bool(template.split_fields) is kind.is_medical


@pytest.mark.parametrize(
    ("specimen_code", "name"),
    [
        ("FS0101", "nontax"),
        ("SS0102", "nontax"),
        ("FS0199", "nontax"),
        ("YL0601", "medical-outpatient"),
        ("YL0602", "medical-inpatient"),
        ("YL0603", "medical-outpatient"),
        ("JZ0301", "default"),
        ("XX9999", "default"),
        ("", "default"),
    ],
)
def test_specimen_codes_map_exactly_then_by_prefix_then_to_the_default(specimen_code: str, name: str) -> None:
    assert template_for(specimen_code).name == name


def test_inpatient_template_shows_the_hospital_stay() -> None:
    fields = template_for("YL0602").header_fields
    assert {"admissionDate", "dischargeDate", "hospitalDays"} <= set(fields)
    assert template_for("YL0602").split_fields == (
        "fundPay",
        "otherFundPay",
        "personalAccountPay",
        "personalCashPay",
        "selfPay",
        "selfExpense",
    )


def test_the_shipped_templates_load() -> None:
    assert {"default", "nontax", "medical-outpatient", "medical-inpatient"} <= set(all_templates())


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(default_json())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(colour="#000000"), "unknown keys"),
        (lambda d: d["page"].pop("qr_mm"), "missing 'qr_mm'"),
        (lambda d: d["table"]["columns"][0].update(width_mm=40), "columns are"),
        (lambda d: d["table"]["columns"][0].update(key="price"), "key"),
        (lambda d: d["header"]["fields"].append("shoeSize"), "unknown field 'shoeSize'"),
        (lambda d: d["rows"].update(split_mm=6, split_fields=["department"]), "no money field"),
        (lambda d: d["rows"].update(split_mm=6), "go together"),
        (lambda d: d["table"].update(max_rows=30), "needs"),
        (lambda d: d["colours"].update(frame="red"), "#rrggbb"),
        (lambda d: d["table"].update(max_rows=True), "expected"),
    ],
)
def test_a_malformed_template_is_refused_with_its_place(change: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        template_from_json(_broken(change), "broken.json")
