"""Every business rule of issuance (issuance.rules) through the API: code, status, path.

Rule violations answer 422 with every violation in ``extra.errors``; the first one
gives the response code. A unit that may not issue at all is refused with 403.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from issuance.models import Receipt
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import ISSUE, error_of, violations_of, yesterday
from tests.support.factories import FeeStandardFactory, IssuingPointFactory
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import FeeStandard, Unit

VALID_ID_NUMBER = "11010519491231002X"
VALID_CREDIT_CODE = "91350100M000100Y43"


def one_item(item_code: str, quantity: Any, standard: Any, amount: Any, **overrides: Any) -> dict[str, Any]:
    """A non-tax request with a single item line whose amount is also the total."""
    line = {"itemCode": item_code, "quantity": quantity, "standard": standard, "amount": amount}
    return nontax_payload(items=[line], totalAmount=amount, **overrides)


def outpatient_ext(**changes: Any) -> dict[str, Any]:
    ext = dict(outpatient_payload()["ext"])
    ext.update(changes)
    return {k: v for k, v in ext.items() if v is not None}


# --- the unit -------------------------------------------------------------------------


def test_unit_past_its_validity_gets_403_unit_expired(api: Any, unit: Unit) -> None:
    # given a unit whose validity ended yesterday
    unit.valid_to = yesterday()
    unit.save()
    # when it issues
    response = api.post(ISSUE, nontax_payload())
    # then it is refused as a whole, nothing issued
    error_of(response, 403, "UNIT_EXPIRED")
    assert not Receipt.objects.exists()


def test_unit_not_yet_valid_gets_403_unit_expired(api: Any, unit: Unit) -> None:
    unit.valid_from = timezone.localdate() + datetime.timedelta(days=1)
    unit.save()
    error_of(api.post(ISSUE, nontax_payload()), 403, "UNIT_EXPIRED")


def test_unit_valid_until_today_may_still_issue(api: Any, unit: Unit) -> None:
    unit.valid_to = timezone.localdate()
    unit.save()
    assert api.post(ISSUE, nontax_payload()).status_code == 201


@pytest.mark.parametrize("status", [Unit.Status.SUSPENDED, Unit.Status.CANCELLED])
def test_issuance_service_refuses_an_inactive_unit(unit: Unit, status: str) -> None:
    # given a suspended or cancelled unit (the API refuses it earlier, at authentication)
    unit.status = status
    unit.save()
    data, _ = parse_issue_input(nontax_payload(), require_bus_no=True)
    assert data is not None
    # when the service is asked to issue
    with pytest.raises(ApplicationError) as refused:
        receipt_issue(unit=unit, data=data, actor=Actor.system("tests"), source=Receipt.Source.API)
    # then UNIT_INACTIVE, 403
    assert refused.value.code == "UNIT_INACTIVE"
    assert refused.value.status_code == 403
    assert not Receipt.objects.exists()


# --- the kind and the issuing point ------------------------------------------------------


def test_unknown_kind_is_the_only_violation_reported(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload(kindCode="0999"))
    assert violations_of(response) == [("KIND_UNKNOWN", "kindCode")]


def test_inactive_kind_is_refused(api: Any, kind_nontax: Any) -> None:
    kind_nontax.active = False
    kind_nontax.save()
    assert violations_of(api.post(ISSUE, nontax_payload())) == [("KIND_INACTIVE", "kindCode")]


def test_kind_not_allowed_for_the_unit_is_refused(api: Any, unit: Unit, kind_nontax: Any) -> None:
    unit.allowed_kinds.remove(kind_nontax)
    assert violations_of(api.post(ISSUE, nontax_payload())) == [("KIND_NOT_ALLOWED", "kindCode")]


def test_unknown_issuing_point_is_refused(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload(issuingPointCode="MZ99"))
    assert violations_of(response) == [("ISSUING_POINT_UNKNOWN", "issuingPointCode")]


def test_disabled_issuing_point_is_refused(api: Any, unit: Unit) -> None:
    unit.issuing_points.update(active=False)
    response = api.post(ISSUE, nontax_payload(issuingPointCode="MZ01"))
    assert violations_of(response) == [("ISSUING_POINT_UNKNOWN", "issuingPointCode")]


def test_issuing_point_of_another_unit_is_unknown(api: Any, other_unit: Unit) -> None:
    IssuingPointFactory(unit=other_unit, code="XX01")
    response = api.post(ISSUE, nontax_payload(issuingPointCode="XX01"))
    assert violations_of(response) == [("ISSUING_POINT_UNKNOWN", "issuingPointCode")]


def test_issuing_point_is_optional(api: Any) -> None:
    payload = nontax_payload()
    del payload["issuingPointCode"]
    response = api.post(ISSUE, payload)
    assert response.status_code == 201, response.json()
    assert response.json()["issuingPointCode"] == ""


# --- items and standards -------------------------------------------------------------------


def test_unknown_fee_item_is_refused(api: Any) -> None:
    response = api.post(ISSUE, one_item("F9999", "1", "10.00", "10.00"))
    assert violations_of(response) == [("ITEM_UNKNOWN", "items[0]")]


def test_fee_item_not_allowed_for_the_unit_is_refused(api: Any, fee_not_allowed: Any) -> None:
    response = api.post(ISSUE, one_item("F0011", "1", "10.00", "10.00"))
    assert violations_of(response) == [("ITEM_NOT_ALLOWED", "items[0]")]


def test_fee_item_of_another_kind_is_refused(api: Any) -> None:
    # given C0105 (诊查费) belongs to the outpatient kind / when used on a non-tax receipt
    response = api.post(ISSUE, one_item("C0105", "1", "25.00", "25.00"))
    assert violations_of(response) == [("ITEM_KIND_MISMATCH", "items[0]")]


def test_expired_fee_item_is_refused(api: Any, fee_expired: Any) -> None:
    response = api.post(ISSUE, one_item("F0010", "1", "10.00", "10.00"))
    assert violations_of(response) == [("ITEM_EXPIRED", "items[0]")]


def test_fee_item_without_standard_is_refused(api: Any, fee_unpriced: Any) -> None:
    response = api.post(ISSUE, one_item("F0009", "1", "10.00", "10.00"))
    assert violations_of(response) == [("ITEM_NO_STANDARD", "items[0]")]


def test_fee_item_whose_standard_has_expired_has_no_standard(api: Any, fee_fixed: Any) -> None:
    fee_fixed.standards.update(valid_to=yesterday())
    response = api.post(ISSUE, one_item("F0001", "1", "10.00", "10.00"))
    assert violations_of(response) == [("ITEM_NO_STANDARD", "items[0]")]


def test_price_other_than_the_fixed_standard_is_refused(api: Any) -> None:
    # given F0001 has a fixed standard of 10.00 / when billed at 12.00
    response = api.post(ISSUE, one_item("F0001", "1", "12.00", "12.00"))
    # then ITEM_STANDARD_MISMATCH, naming both prices in yuan
    assert violations_of(response) == [("ITEM_STANDARD_MISMATCH", "items[0]")]
    assert "10.00 元" in response.json()["message"]
    assert "12.00 元" in response.json()["message"]


def test_fixed_standard_matches_whatever_the_number_of_decimals(api: Any) -> None:
    response = api.post(ISSUE, one_item("F0001", "1", "10.0000", "10.00"))
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("price", ["4.99", "50.01", "60"])
def test_price_outside_the_range_standard_is_refused(api: Any, price: str) -> None:
    # given F0002 has a standard of 5.00–50.00
    amount = str(Decimal(price).quantize(Decimal("0.01")))
    response = api.post(ISSUE, one_item("F0002", "1", price, amount))
    assert violations_of(response) == [("ITEM_OUTSIDE_STANDARD", "items[0]")]


@pytest.mark.parametrize("price", ["5.00", "50.00"])
def test_range_standard_includes_its_bounds(api: Any, price: str) -> None:
    assert api.post(ISSUE, one_item("F0002", "1", price, price)).status_code == 201


def test_amount_other_than_quantity_times_standard_is_refused(api: Any) -> None:
    response = api.post(ISSUE, one_item("F0001", "2", "10.00", "21.00"))
    assert violations_of(response) == [("ITEM_AMOUNT_MISMATCH", "items[0]")]
    assert "20.00" in response.json()["message"]


def test_amount_with_a_four_decimal_price_is_rounded_half_up_to_the_fen(api: Any) -> None:
    # given 3 × 5.5555 = 16.6665, which rounds half-up to 16.67 (banker's rounding gives 16.66)
    response = api.post(ISSUE, one_item("F0002", "3", "5.5555", "16.67"))
    # then the request is accepted and the four-decimal price is kept
    assert response.status_code == 201, response.json()
    assert response.json()["items"][0]["standard"] == "5.5555"
    assert response.json()["items"][0]["amount"] == "16.67"


def test_amount_rounded_half_to_even_is_refused(api: Any) -> None:
    response = api.post(ISSUE, one_item("F0002", "3", "5.5555", "16.66"))
    assert violations_of(response) == [("ITEM_AMOUNT_MISMATCH", "items[0]")]
    assert "16.67" in response.json()["message"]


def test_fractional_quantity_amount_is_rounded_half_up(api: Any) -> None:
    # 0.5 × 10.01 = 5.005 -> 5.01
    response = api.post(ISSUE, one_item("F0002", "0.5", "10.01", "5.01"))
    assert response.status_code == 201, response.json()
    assert response.json()["items"][0]["quantity"] == "0.5"


def test_item_name_differing_from_the_fee_item_library_is_refused(api: Any) -> None:
    payload = one_item("F0001", "1", "10.00", "10.00")
    payload["items"][0]["itemName"] = "工本费"
    assert violations_of(api.post(ISSUE, payload)) == [("ITEM_NAME_MISMATCH", "items[0]")]


def test_item_name_equal_to_the_library_name_is_accepted(api: Any) -> None:
    payload = one_item("F0001", "1", "10.00", "10.00")
    payload["items"][0]["itemName"] = "证书工本费"
    assert api.post(ISSUE, payload).status_code == 201


def test_total_other_than_the_sum_of_items_is_refused(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload(totalAmount="55.51"))
    assert violations_of(response) == [("TOTAL_MISMATCH", "totalAmount")]


def test_every_violation_is_listed_and_the_first_gives_the_code(api: Any) -> None:
    # given a wrong fixed price on line 0, an unknown item on line 1 and a wrong total
    payload = nontax_payload(
        items=[
            {"itemCode": "F0001", "quantity": "1", "standard": "12.00", "amount": "12.00"},
            {"itemCode": "F9999", "quantity": "1", "standard": "1.00", "amount": "1.00"},
        ],
        totalAmount="14.00",
    )
    response = api.post(ISSUE, payload)
    assert violations_of(response) == [
        ("ITEM_STANDARD_MISMATCH", "items[0]"),
        ("ITEM_UNKNOWN", "items[1]"),
        ("TOTAL_MISMATCH", "totalAmount"),
    ]


def test_county_standard_wins_over_the_province_standard_at_issuance(api: Any, fee_fixed: Any, furong: Any) -> None:
    # given the province charges 10.00 for F0001 and the unit's own county 8.00
    FeeStandardFactory(fee_item=fee_fixed, region=furong, mode=FeeStandard.Mode.FIXED, amount=Decimal("8.00"))
    # then the province price is refused and the county price accepted
    province_price = api.post(ISSUE, one_item("F0001", "1", "10.00", "10.00", busNo="B1"))
    assert violations_of(province_price) == [("ITEM_STANDARD_MISMATCH", "items[0]")]
    assert api.post(ISSUE, one_item("F0001", "1", "8.00", "8.00", busNo="B2")).status_code == 201


# --- payer -------------------------------------------------------------------------------------


def fine_payload(payer: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return (
        one_item(
            "F0001", "1", "10.00", "10.00", kindCode="0105", payer=payer, ext={"decisionNumber": "芙公罚〔2025〕1号"}
        )
        | overrides
    )


def test_kind_requiring_payer_code_refuses_a_request_without_it(api: Any, kind_fine: Any) -> None:
    response = api.post(ISSUE, fine_payload({"type": 1, "name": "张三"}))
    assert violations_of(response) == [("PAYER_FIELD_MISSING", "payer.code")]


def test_kind_requiring_payer_code_accepts_a_request_with_it(api: Any, kind_fine: Any) -> None:
    response = api.post(ISSUE, fine_payload({"type": 1, "name": "张三", "code": VALID_ID_NUMBER}))
    assert response.status_code == 201, response.json()
    assert response.json()["payer"]["code"] == VALID_ID_NUMBER


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100I43",  # I is not a credit-code symbol
        "9135010OM000100Y43",  # O in the region part
    ],
)
def test_organisation_payer_with_an_invalid_credit_code_is_refused(api: Any, code: str) -> None:
    response = api.post(ISSUE, nontax_payload(payer={"type": 2, "name": "某公司", "code": code}))
    assert violations_of(response) == [("PAYER_CODE_INVALID", "payer.code")]


@pytest.mark.parametrize("code", [VALID_CREDIT_CODE, VALID_CREDIT_CODE.lower()])
def test_organisation_payer_with_a_valid_credit_code_is_accepted(api: Any, code: str) -> None:
    response = api.post(ISSUE, nontax_payload(payer={"type": 2, "name": "某公司", "code": code}))
    assert response.status_code == 201, response.json()


def test_person_payer_with_a_wrong_id_check_digit_is_refused(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload(payer={"type": 1, "name": "张三", "code": "110105194912310021"}))
    assert violations_of(response) == [("PAYER_CODE_INVALID", "payer.code")]


@pytest.mark.parametrize("code", [VALID_ID_NUMBER, VALID_ID_NUMBER.lower()])
def test_person_payer_with_a_valid_id_number_is_accepted(api: Any, code: str) -> None:
    response = api.post(ISSUE, nontax_payload(payer={"type": 1, "name": "张三", "code": code}))
    assert response.status_code == 201, response.json()


def test_person_payer_with_a_non_id_document_number_is_not_checked(api: Any) -> None:
    # a passport number is not an 18-digit resident ID: no check digit to verify
    response = api.post(ISSUE, nontax_payload(payer={"type": 1, "name": "John", "code": "E12345678"}))
    assert response.status_code == 201, response.json()


# --- kind-specific fields (ext) -------------------------------------------------------------------


def test_missing_required_ext_field_is_refused(api: Any) -> None:
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(department=None)))
    assert violations_of(response) == [("EXT_FIELD_MISSING", "ext.department")]


def test_required_ext_field_given_empty_counts_as_missing(api: Any) -> None:
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(department="")))
    assert violations_of(response) == [("EXT_FIELD_MISSING", "ext.department")]


def test_unknown_ext_field_is_refused(api: Any) -> None:
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(bedNumber="12")))
    assert violations_of(response) == [("EXT_FIELD_UNKNOWN", "ext.bedNumber")]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("visitDate", "2025-13-01"),
        ("visitDate", "20250101"),
        ("visitDate", 20250101),
        ("selfExpense", "abc"),
        ("selfExpense", "1.005"),
        ("selfExpense", "-1.00"),
        ("selfExpense", "1e30"),
        ("selfExpense", True),
        ("department", "科" * 61),
        ("department", 12),
        ("hospitalDays", -1),
        ("hospitalDays", 100001),
        ("hospitalDays", "3"),
        ("hospitalDays", 3.0),
        ("hospitalDays", True),
    ],
)
def test_ext_field_of_the_wrong_type_or_size_is_refused(api: Any, name: str, value: Any) -> None:
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(**{name: value})))
    assert violations_of(response) == [("EXT_FIELD_INVALID", f"ext.{name}")]


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("visitDate", "2025-03-09", "2025-03-09"),
        ("selfExpense", 3, "3.00"),
        ("selfExpense", "3.5", "3.50"),
        ("department", "科" * 60, "科" * 60),
        ("hospitalDays", 0, 0),
        ("hospitalDays", 100000, 100000),
    ],
)
def test_ext_field_at_its_limits_is_accepted_and_normalised(api: Any, name: str, value: Any, stored: Any) -> None:
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(**{name: value})))
    assert response.status_code == 201, response.json()
    assert response.json()["ext"][name] == stored


@pytest.mark.parametrize("name", ["hospitalDays", "selfExpense", "department"])
def test_ext_number_beyond_any_range_is_refused_not_a_server_error(api: Any, name: str) -> None:
    # given the JSON number 1e1000000, beyond what Decimal arithmetic can normalise
    raw = json.dumps(outpatient_payload(ext=outpatient_ext(**{name: "HUGE"}))).replace('"HUGE"', "1e1000000")
    assert violations_of(api.post(ISSUE, raw=raw.encode())) == [("EXT_FIELD_INVALID", f"ext.{name}")]


def test_medical_split_that_does_not_add_up_to_the_total_is_refused(api: Any) -> None:
    # 10 + 5 + 5 = 20 for a 25.00 receipt
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(fundPay="10.00")))
    assert violations_of(response) == [("MEDICAL_SPLIT_MISMATCH", "ext")]


def test_partial_medical_split_adding_up_to_the_total_is_accepted(api: Any) -> None:
    ext = outpatient_ext(fundPay="25.00", personalAccountPay=None, personalCashPay=None)
    assert api.post(ISSUE, outpatient_payload(ext=ext)).status_code == 201


def test_self_pay_greater_than_the_total_is_refused(api: Any) -> None:
    response = api.post(ISSUE, outpatient_payload(ext=outpatient_ext(selfPay="25.01")))
    assert violations_of(response) == [("EXT_FIELD_INVALID", "ext.selfPay")]


def test_self_pay_equal_to_the_total_is_accepted(api: Any) -> None:
    assert api.post(ISSUE, outpatient_payload(ext=outpatient_ext(selfPay="25.00"))).status_code == 201


def test_discharge_before_admission_is_refused(api: Any) -> None:
    ext = outpatient_ext(admissionDate="2025-03-10", dischargeDate="2025-03-09")
    response = api.post(ISSUE, outpatient_payload(ext=ext))
    assert violations_of(response) == [("EXT_FIELD_INVALID", "ext.dischargeDate")]


def test_discharge_on_the_day_of_admission_is_accepted(api: Any) -> None:
    ext = outpatient_ext(admissionDate="2025-03-10", dischargeDate="2025-03-10")
    assert api.post(ISSUE, outpatient_payload(ext=ext)).status_code == 201


# --- business date ------------------------------------------------------------------------------------


def test_business_date_in_the_future_is_refused(api: Any) -> None:
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = api.post(ISSUE, nontax_payload(busDate=tomorrow))
    assert violations_of(response) == [("BUS_DATE_IN_FUTURE", "busDate")]


def test_business_date_in_the_past_is_kept(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload(busDate="2025-01-31"))
    assert response.status_code == 201
    assert response.json()["busDate"] == "2025-01-31"
    assert response.json()["issueDate"] == timezone.localdate().isoformat()


def test_business_date_defaults_to_the_issue_date(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload())
    assert response.json()["busDate"] == timezone.localdate().isoformat()


# --- effects of a refusal --------------------------------------------------------------------------------


def test_refused_request_issues_nothing_and_audits_nothing(api: Any) -> None:
    violations_of(api.post(ISSUE, nontax_payload(totalAmount="1.00")))
    assert not Receipt.objects.exists()
    assert not AuditEvent.objects.filter(action="receipt.issue").exists()
