"""One error shape, {"code", "message", "extra"}, for every refusal under /api/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, QueryDict
from django.test import Client, RequestFactory
from rest_framework import exceptions

from tests.issuance.conftest import BATCH, DAILY, ISSUE, LIST, by_bus_no_url, detail_url, error_of
from tests.support.api import SignedClient
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.core.exception_handler import api_exception_handler
from zhongtai.core.params import param_choice, param_date, param_int
from zhongtai.core.views import not_found, server_error


def handled(exc: Exception) -> tuple[int, dict[str, Any], Any]:
    response = api_exception_handler(exc, {})
    assert response is not None
    assert set(response.data) == {"code", "message", "extra"}
    return response.status_code, response.data, response


# --- ApplicationError ------------------------------------------------------------------------


def test_application_error_is_a_400_unless_told_otherwise() -> None:
    error = ApplicationError(CommonError.CONFLICT, "冲突")
    assert error.status_code == 400
    assert ApplicationError(CommonError.CONFLICT, "冲突", status=409).status_code == 409


def test_application_error_carries_a_plain_string_code_and_empty_extra() -> None:
    error = ApplicationError(CommonError.NOT_FOUND, "未找到")
    assert error.as_dict() == {"code": "NOT_FOUND", "message": "未找到", "extra": {}}
    assert type(error.code) is str


def test_application_error_keeps_its_extra() -> None:
    error = ApplicationError("SOME_RULE", "说明", {"path": "items[0]"}, status=422)
    assert handled(error)[:2] == (422, {"code": "SOME_RULE", "message": "说明", "extra": {"path": "items[0]"}})


# --- the exception handler ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.ParseError(), 400, "MALFORMED_BODY"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (exceptions.NotFound(), 404, "NOT_FOUND"),
        (Http404(), 404, "NOT_FOUND"),
        (exceptions.MethodNotAllowed("PUT"), 405, "METHOD_NOT_ALLOWED"),
        (exceptions.NotAuthenticated(), 401, "AUTH_REQUIRED"),
        (exceptions.AuthenticationFailed(), 401, "AUTH_REQUIRED"),
        (exceptions.PermissionDenied(), 403, "FORBIDDEN"),
        (DjangoPermissionDenied(), 403, "FORBIDDEN"),
        (exceptions.Throttled(wait=12.7), 429, "THROTTLED"),
    ],
)
def test_framework_refusals_get_their_code_and_status(exc: Exception, status: int, code: str) -> None:
    got_status, body, _ = handled(exc)
    assert (got_status, body["code"], body["extra"]) == (status, code, {})
    assert body["message"]


def test_throttled_answer_says_when_to_retry() -> None:
    # rounded up: retrying after 12 s would be refused again
    assert handled(exceptions.Throttled(wait=12.7))[2]["Retry-After"] == "13"


def test_validation_error_is_invalid_input_with_its_fields() -> None:
    status, body, _ = handled(exceptions.ValidationError({"busDate": ["日期格式不正确。"]}))
    assert (status, body["code"]) == (400, "INVALID_INPUT")
    assert body["extra"] == {"fields": {"busDate": ["日期格式不正确。"]}}


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyError("x"), RuntimeError()])
def test_unknown_exception_is_left_to_become_a_500(exc: Exception) -> None:
    assert api_exception_handler(exc, {}) is None


# --- error pages under /api/ and elsewhere ------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/v2/receipts", "/api/", "/api/v1/receipts/issue/extra/x"])
def test_unknown_api_url_answers_json_404(db: Any, url: str) -> None:
    response = Client().get(url)
    body = error_of(response, 404, "NOT_FOUND")
    assert body["extra"] == {}


def test_unknown_api_url_answers_json_404_to_a_signed_request(api: SignedClient) -> None:
    error_of(api.get("/api/v1/receipts/issue/x/y"), 404, "NOT_FOUND")


def test_unknown_page_outside_the_api_answers_html(db: Any) -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_server_error_under_the_api_answers_json_500() -> None:
    response = server_error(RequestFactory().get("/api/v1/receipts"))
    assert response.status_code == 500
    assert json.loads(response.content) == {
        "code": "INTERNAL_ERROR",
        "message": "服务器内部错误，请稍后重试。",
        "extra": {},
    }


def test_server_error_outside_the_api_answers_html() -> None:
    response = server_error(RequestFactory().get("/portal/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_not_found_view_answers_json_only_under_the_api(db: Any) -> None:
    assert not_found(RequestFactory().get("/api/x"))["Content-Type"] == "application/json"
    assert not_found(RequestFactory().get("/x"))["Content-Type"].startswith("text/html")


# --- wrong methods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("GET", ISSUE, "POST"),
        ("PUT", ISSUE, "POST"),
        ("GET", BATCH, "POST"),
        ("POST", LIST + "?busDate=2025-03-01", "GET"),
        ("DELETE", detail_url("43010125", "0000000001"), "GET"),
        ("PATCH", by_bus_no_url("BUS0001"), "GET"),
        ("POST", DAILY + "?date=2025-03-01", "GET"),
    ],
)
def test_wrong_method_is_refused_with_405_in_the_error_shape(
    api: SignedClient, method: str, url: str, allowed: str
) -> None:
    response = api.request(method, url, {})
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert allowed in response["Allow"]


# --- query parameters ---------------------------------------------------------------------------------------


def refusal_of(call: Any) -> dict[str, Any]:
    with pytest.raises(ApplicationError) as refused:
        call()
    assert (refused.value.code, refused.value.status_code) == ("INVALID_INPUT", 400)
    return refused.value.extra["fields"]


def test_missing_required_date_parameter_is_named() -> None:
    assert list(refusal_of(lambda: param_date(QueryDict(""), "date"))) == ["date"]


def test_optional_date_parameter_may_be_left_out() -> None:
    assert param_date(QueryDict(""), "date", required=False) is None


@pytest.mark.parametrize("value", ["2025-3-1", "2025-02-29", "2025/03/01", "20250301", "2025-03-01T00:00"])
def test_date_parameter_must_be_an_iso_date(value: str) -> None:
    assert list(refusal_of(lambda: param_date(QueryDict(f"d={value}"), "d"))) == ["d"]


@pytest.mark.parametrize("value", ["0", "11", "-1", "1.5", "x", "²", "١", " 1"])
def test_int_parameter_must_be_ascii_digits_within_bounds(value: str) -> None:
    params = {"n": value}
    assert list(refusal_of(lambda: param_int(params, "n", default=1, minimum=1, maximum=10))) == ["n"]


def test_int_parameter_defaults_when_absent_and_reads_ascii_digits() -> None:
    assert param_int({}, "n", default=3, minimum=1, maximum=10) == 3
    assert param_int({"n": "010"}, "n", default=3, minimum=1, maximum=10) == 10


def test_choice_parameter_must_be_one_of_the_choices() -> None:
    assert param_choice({}, "basis", choices=("issue", "business"), default="issue") == "issue"
    assert param_choice({"basis": "business"}, "basis", choices=("issue", "business"), default="issue") == "business"
    fields = refusal_of(lambda: param_choice({"basis": "x"}, "basis", choices=("issue", "business"), default="issue"))
    assert fields == {"basis": "应为以下之一：issue、business。"}
