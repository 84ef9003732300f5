"""HMAC-SHA256 request authentication of the standard interface (zhongtai.gateway).

Each refusal has its own code. The nonce is claimed only once a request is proven
authentic, so a forged request cannot burn a legitimate client's nonce.
"""

from __future__ import annotations

import datetime
import secrets
import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from tests.conftest import nontax_payload
from tests.issuance.conftest import BATCH, DAILY, ISSUE, LIST, by_bus_no_url, detail_url, error_of
from tests.support.api import SignedClient, sign_headers
from zhongtai.audit.services import Actor
from zhongtai.gateway.models import ApiCredential, UsedNonce
from zhongtai.gateway.nonces import nonce_claim, nonce_purge, nonce_window_seconds
from zhongtai.gateway.services import credential_revoke
from zhongtai.gateway.signing import canonical_query, string_to_sign
from zhongtai.masterdata.models import Unit

READ_URL = "/api/v1/receipts?busDate=2025-03-01"
SCHEME = "EREC-HMAC-SHA256"

NONCE_BACKENDS = [
    pytest.param("database", id="database"),
    pytest.param(
        "redis",
        id="redis",
        marks=[
            pytest.mark.redis,
            pytest.mark.skipif(not django_settings.REDIS_URL, reason="REDIS_URL is not set"),
        ],
    ),
]


@pytest.fixture(params=NONCE_BACKENDS)
def nonce_backend(request: Any, settings: Any) -> str:
    settings.EREC_NONCE_BACKEND = request.param
    return request.param


def new_nonce() -> str:
    return secrets.token_hex(16)


def refused(response: Any, code: str, status: int = 401) -> dict[str, Any]:
    body = error_of(response, status, code)
    if status == 401:
        assert response["WWW-Authenticate"] == SCHEME
    return body


def send_signed_as(api: SignedClient, *, signed: dict[str, Any], method: str, url: str, body: bytes = b"") -> Any:
    """Sign one request (``signed``: method, path, query, body) and send another."""
    headers = sign_headers(app_id=api.app_id, secret=api.secret, **signed)
    return api.client.generic(method, url, data=body, content_type="application/json", headers=headers)


# --- accepted -------------------------------------------------------------------------------------


def test_correctly_signed_read_is_accepted(api: SignedClient) -> None:
    assert api.get(READ_URL).status_code == 200


def test_correctly_signed_write_is_accepted(api: SignedClient) -> None:
    assert api.post(ISSUE, nontax_payload()).status_code == 201


def test_query_parameters_in_another_order_still_verify(api: SignedClient) -> None:
    # given a client that signs its parameters in one order and sends them in another
    response = send_signed_as(
        api,
        signed={"method": "GET", "path": "/api/v1/receipts", "query": "pageSize=10&page=1&busDate=2025-03-01"},
        method="GET",
        url="/api/v1/receipts?busDate=2025-03-01&page=1&pageSize=10",
    )
    # then the canonical (sorted) query is what counts
    assert response.status_code == 200, response.json()
    assert response.json()["pageSize"] == 10


@pytest.mark.parametrize("skew", [-290, 290])
def test_timestamp_within_the_allowed_skew_is_accepted(api: SignedClient, skew: int) -> None:
    assert api.get(READ_URL, timestamp=int(time.time()) + skew).status_code == 200


# --- refused: signature ----------------------------------------------------------------------------


def test_wrong_signature_is_refused(api: SignedClient) -> None:
    refused(api.get(READ_URL, headers={"X-Signature": "0" * 64}), "AUTH_BAD_SIGNATURE")


def test_signature_made_with_another_secret_is_refused(api: SignedClient) -> None:
    impostor = SignedClient(api.app_id, "not-the-secret")
    refused(impostor.get(READ_URL), "AUTH_BAD_SIGNATURE")


def test_signature_over_a_different_body_is_refused(api: SignedClient) -> None:
    signed_body = b'{"busNo": "A"}'
    response = send_signed_as(
        api,
        signed={"method": "POST", "path": ISSUE, "body": signed_body},
        method="POST",
        url=ISSUE,
        body=b'{"busNo": "B"}',
    )
    refused(response, "AUTH_BAD_SIGNATURE")


def test_signature_for_another_path_is_refused(api: SignedClient) -> None:
    response = send_signed_as(
        api,
        signed={"method": "GET", "path": by_bus_no_url("BUS0001")},
        method="GET",
        url=by_bus_no_url("BUS0002"),
    )
    refused(response, "AUTH_BAD_SIGNATURE")


@pytest.mark.parametrize(
    "sent_query",
    ["busDate=2025-03-02", "busDate=2025-03-01&page=2", "", "busDate=2025-03-01&busDate=2025-03-02"],
)
def test_tampered_query_is_refused(api: SignedClient, sent_query: str) -> None:
    response = send_signed_as(
        api,
        signed={"method": "GET", "path": "/api/v1/receipts", "query": "busDate=2025-03-01"},
        method="GET",
        url=f"/api/v1/receipts?{sent_query}",
    )
    refused(response, "AUTH_BAD_SIGNATURE")


def test_signature_for_another_method_is_refused(api: SignedClient) -> None:
    response = send_signed_as(api, signed={"method": "GET", "path": ISSUE}, method="POST", url=ISSUE)
    refused(response, "AUTH_BAD_SIGNATURE")


def test_signature_covers_the_path_as_decoded_by_the_server(api: SignedClient) -> None:
    # given a path with a percent-escape, signed over its decoded form (see issuance conftest)
    signed_decoded = send_signed_as(
        api,
        signed={"method": "GET", "path": "/api/v1/receipts/by-bus-no/a b"},
        method="GET",
        url=by_bus_no_url("a%20b"),
    )
    # then it verifies (and the busNo itself is refused), while the escaped form does not verify
    assert error_of(signed_decoded, 400, "INVALID_INPUT")
    refused(api.get(by_bus_no_url("a%20b")), "AUTH_BAD_SIGNATURE")


# --- refused: timestamp, nonce ------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-310, 310, -86400])
def test_timestamp_outside_the_allowed_skew_is_refused(api: SignedClient, skew: int) -> None:
    body = refused(api.get(READ_URL, timestamp=int(time.time()) + skew), "AUTH_STALE_TIMESTAMP")
    assert abs(body["extra"]["serverTime"] - time.time()) < 60


def test_replayed_nonce_is_refused(api: SignedClient, nonce_backend: str) -> None:
    nonce = new_nonce()
    assert api.get(READ_URL, nonce=nonce).status_code == 200
    refused(api.get(READ_URL, nonce=nonce), "AUTH_NONCE_REPLAYED")


def test_replayed_write_issues_nothing_twice(api: SignedClient, nonce_backend: str) -> None:
    nonce = new_nonce()
    assert api.post(ISSUE, nontax_payload(), nonce=nonce).status_code == 201
    refused(api.post(ISSUE, nontax_payload("BUS0002"), nonce=nonce), "AUTH_NONCE_REPLAYED")


def test_nonce_is_not_consumed_by_a_request_with_a_bad_signature(api: SignedClient, nonce_backend: str) -> None:
    # given a forged request carrying a nonce
    nonce = new_nonce()
    refused(api.get(READ_URL, nonce=nonce, headers={"X-Signature": "f" * 64}), "AUTH_BAD_SIGNATURE")
    # when the genuine client uses that nonce
    response = api.get(READ_URL, nonce=nonce)
    # then it is accepted
    assert response.status_code == 200


def test_nonce_is_not_consumed_by_a_stale_request(api: SignedClient, nonce_backend: str) -> None:
    nonce = new_nonce()
    refused(api.get(READ_URL, nonce=nonce, timestamp=int(time.time()) - 3600), "AUTH_STALE_TIMESTAMP")
    assert api.get(READ_URL, nonce=nonce).status_code == 200


def test_same_nonce_from_two_applications_is_accepted_for_each(
    api: SignedClient, other_api: SignedClient, nonce_backend: str
) -> None:
    nonce = new_nonce()
    assert api.get(READ_URL, nonce=nonce).status_code == 200
    assert other_api.get(READ_URL, nonce=nonce).status_code == 200


def test_nonce_store_claims_a_nonce_once_per_application(nonce_backend: str, db: Any) -> None:
    nonce = new_nonce()
    app_a, app_b = "ak" + secrets.token_hex(10), "ak" + secrets.token_hex(10)
    assert nonce_claim(app_id=app_a, nonce=nonce) is True
    assert nonce_claim(app_id=app_a, nonce=nonce) is False
    assert nonce_claim(app_id=app_b, nonce=nonce) is True


def test_database_nonce_store_keeps_one_row_per_accepted_request(api: SignedClient, settings: Any) -> None:
    settings.EREC_NONCE_BACKEND = "database"
    nonce = new_nonce()
    api.get(READ_URL, nonce=nonce)
    api.get(READ_URL, headers={"X-Signature": "0" * 64})
    assert list(UsedNonce.objects.values_list("app_id", "nonce")) == [(api.app_id, nonce)]


def test_purge_removes_only_nonces_older_than_the_window(db: Any) -> None:
    now = timezone.now()
    UsedNonce.objects.create(
        app_id="a", nonce="old" * 6, seen_at=now - datetime.timedelta(seconds=nonce_window_seconds() + 1)
    )
    recent = UsedNonce.objects.create(app_id="a", nonce="new" * 6, seen_at=now - datetime.timedelta(seconds=60))
    assert nonce_purge() == 1
    assert set(UsedNonce.objects.values_list("pk", flat=True)) == {recent.pk}


def test_nonce_window_outlasts_the_accepted_timestamps() -> None:
    # a nonce must be remembered while a request carrying it could still pass the clock check
    assert nonce_window_seconds() > 2 * django_settings.EREC_API_CLOCK_SKEW_SECONDS


# --- refused: headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Timestamp", "abc"),
        ("X-Timestamp", "170000000"),
        ("X-Timestamp", "17000000000"),
        ("X-Timestamp", "1.7e9"),
        ("X-Nonce", "short"),
        ("X-Nonce", "n" * 65),
        ("X-Nonce", "nonce with spaces 123"),
        ("X-Nonce", "nonce/with/slashes/123"),
        ("X-Signature", "A" * 64),
        ("X-Signature", "a" * 63),
        ("X-Signature", "g" * 64),
    ],
)
def test_malformed_header_is_refused(api: SignedClient, header: str, value: str) -> None:
    refused(api.get(READ_URL, headers={header: value}), "AUTH_MALFORMED_HEADERS")


@pytest.mark.parametrize(
    "missing", [["X-App-Id"], ["X-Timestamp"], ["X-Nonce"], ["X-Signature"], ["X-Nonce", "X-Signature"]]
)
def test_request_missing_some_signature_headers_is_refused(api: SignedClient, missing: list[str]) -> None:
    response = api.get(READ_URL, headers=dict.fromkeys(missing, ""))
    assert refused(response, "AUTH_MISSING_HEADERS")["extra"] == {"missing": missing}


def test_request_without_any_signature_header_needs_authentication(unit: Unit) -> None:
    response = Client().get(READ_URL)
    refused(response, "AUTH_REQUIRED")


def test_unknown_app_id_is_refused(api: SignedClient) -> None:
    stranger = SignedClient("ak" + "0" * 20, api.secret)
    refused(stranger.get(READ_URL), "AUTH_UNKNOWN_APP")


# --- refused: credential and unit ------------------------------------------------------------------------


def test_revoked_credential_is_refused(api: SignedClient) -> None:
    credential = ApiCredential.objects.get(app_id=api.app_id)
    credential_revoke(credential=credential, actor=Actor.user("admin"))
    refused(api.get(READ_URL), "AUTH_CREDENTIAL_REVOKED")


def test_revoked_credential_with_a_bad_signature_tells_nothing_about_its_status(api: SignedClient) -> None:
    credential_revoke(credential=ApiCredential.objects.get(app_id=api.app_id), actor=Actor.user("admin"))
    refused(api.get(READ_URL, headers={"X-Signature": "0" * 64}), "AUTH_BAD_SIGNATURE")


def test_other_credentials_of_the_unit_keep_working_after_a_revocation(api: SignedClient, read_only_api: Any) -> None:
    credential_revoke(credential=ApiCredential.objects.get(app_id=api.app_id), actor=Actor.user("admin"))
    assert read_only_api.get(READ_URL).status_code == 200


@pytest.mark.parametrize("status", [Unit.Status.SUSPENDED, Unit.Status.CANCELLED])
def test_unit_that_is_not_active_is_refused_with_403(api: SignedClient, unit: Unit, status: str) -> None:
    unit.status = status
    unit.save()
    refused(api.get(READ_URL), "AUTH_UNIT_INACTIVE", status=403)


def test_credential_of_a_unit_no_longer_connected_by_interface_is_refused(api: SignedClient, unit: Unit) -> None:
    unit.connection_mode = Unit.ConnectionMode.NETWORKED
    unit.save()
    refused(api.get(READ_URL), "UNIT_NOT_INTERFACE", status=403)


# --- every endpoint ------------------------------------------------------------------------------------------


ENDPOINTS = [
    ("POST", ISSUE),
    ("POST", BATCH),
    ("GET", LIST + "?busDate=2025-03-01"),
    ("GET", detail_url("43010125", "0000000001")),
    ("GET", by_bus_no_url("BUS0001")),
    ("GET", DAILY + "?date=2025-03-01"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_refuses_an_unsigned_request(unit: Unit, method: str, url: str) -> None:
    response = Client().generic(method, url, data=b"{}", content_type="application/json")
    refused(response, "AUTH_REQUIRED")


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_refuses_a_bad_signature(api: SignedClient, method: str, url: str) -> None:
    refused(api.request(method, url, {}, headers={"X-Signature": "0" * 64}), "AUTH_BAD_SIGNATURE")


# --- the signing scheme -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),
        ("a=&b", "a=&b="),
        ("q=a+b", "q=a%20b"),
        ("q=a%20b", "q=a%20b"),
        ("q=%E4%B8%AD", "q=%E4%B8%AD"),
        ("q=%e4%b8%ad", "q=%E4%B8%AD"),
        ("q=-_.~", "q=-_.~"),
        ("q=a%2Fb", "q=a%2Fb"),
    ],
)
def test_canonical_query_is_sorted_and_rfc3986_encoded(query: str, canonical: str) -> None:
    assert canonical_query(query) == canonical


def test_string_to_sign_joins_the_parts_with_newlines() -> None:
    message = string_to_sign(
        method="post", path="/api/v1/receipts/issue", query_string="", timestamp="1700000000", nonce="n" * 16, body=b""
    )
    assert message.split("\n") == [
        "POST",
        "/api/v1/receipts/issue",
        "",
        "1700000000",
        "n" * 16,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # SHA-256 of b""
    ]
