"""The documentation in docs/ matches the code: error codes, ext fields, the signing example,
and the standard-library client, which is run against a live server."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from issuance.errors import IssuanceError
from issuance.paper.errors import PaperError
from issuance.paper.urls import urlpatterns as paper_urls
from issuance.payload import parse_issue_input
from issuance.urls import urlpatterns as issuance_urls
from settlement.urls import urlpatterns as settlement_urls
from tests.conftest import outpatient_payload
from verification.errors import VerificationError
from verification.urls import urlpatterns as public_urls
from zhongtai.audit.services import Actor
from zhongtai.core.errors import CommonError
from zhongtai.gateway import signing
from zhongtai.gateway.errors import GatewayError
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.kind_fields import KIND_FIELDS, PAYER_FIELDS
from zhongtai.masterdata.models import Unit
from zhongtai.numbering.errors import NumberingError
from zhongtai.webhooks.errors import WebhookError
from zhongtai.webhooks.urls import urlpatterns as webhook_urls

DOCS = Path(__file__).resolve().parent.parent / "docs"
API_MD = (DOCS / "api.md").read_text(encoding="utf-8")

# The worked example of docs/api.md: every value here must appear in the document verbatim.
EXAMPLE_SECRET = "demo-secret-furong-hospital-2026"
EXAMPLE_TIMESTAMP = "1767225600"
EXAMPLE_POST_NONCE = "7f3a9c1e5b2d4068a1c3e5f7"
EXAMPLE_POST_PATH = "/api/v1/receipts/issue"
EXAMPLE_POST_BODY = (
    '{"busNo":"HIS20260101000123","kindCode":"0101","payer":{"type":1,"name":"张三"},'
    '"items":[{"itemCode":"F0001","quantity":"2","standard":"10.00","amount":"20.00"}],"totalAmount":"20.00"}'
)
EXAMPLE_POST_SIGNATURE = "e2b922a1de3da354abab9c342d2f24eb667324c55a1806e560ac006b2f7bae79"
EXAMPLE_GET_NONCE = "0c9d8e7f6a5b4c3d2e1f0a9b"
EXAMPLE_GET_PATH = "/api/v1/receipts"
EXAMPLE_GET_QUERY = "pageSize=50&busDate=2026-01-01&page=2"
EXAMPLE_GET_SIGNATURE = "a939555e4ac3be794e363791ed8b1a81b4a933d2f0e6683700d7fa7a7dc4a555"
EMPTY_BODY_DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(scope="module")
def client_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_example", DOCS / "client_example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- error codes and fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [*CommonError, *GatewayError, *NumberingError, *IssuanceError, *PaperError, *VerificationError, *WebhookError],
    ids=lambda code: str(code),
)
def test_every_error_code_is_in_the_api_guide(code: str) -> None:
    # given an error code of any app / then the API guide's error tables list it
    assert re.search(rf"^\| `{code}` \| \d{{3}} \|", API_MD, re.MULTILINE), f"{code} missing from docs/api.md"


@pytest.mark.parametrize("name", sorted(KIND_FIELDS))
def test_every_ext_field_is_in_the_api_guide(name: str) -> None:
    field = KIND_FIELDS[name]
    # then its row names the type and the Chinese label
    assert re.search(rf"^\| `{name}` \| {field.type} \| {re.escape(field.label)} ", API_MD, re.MULTILINE), name


@pytest.mark.parametrize("name", sorted(PAYER_FIELDS))
def test_every_requirable_payer_field_is_in_the_api_guide(name: str) -> None:
    assert f"`{name}`" in API_MD


@pytest.mark.parametrize(
    "pattern",
    [*issuance_urls, *settlement_urls, *paper_urls, *public_urls, *webhook_urls],
    ids=lambda p: str(p.pattern),
)
def test_every_endpoint_is_in_the_api_guide(pattern: Any) -> None:
    # given a URL of the API / then the guide names its path (up to the first parameter)
    fixed_part = str(pattern.pattern).split("<", 1)[0]
    assert f"`/api/v1/{fixed_part}" in API_MD


def test_relative_links_in_docs_resolve() -> None:
    for document in DOCS.rglob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8")):
            assert (document.parent / target).exists(), f"{document.name} links to missing {target}"


# --- the worked signing example -----------------------------------------------------------


def test_worked_post_example_reproduces_with_the_server_code() -> None:
    # given the example's inputs as printed in the guide
    for value in (EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_POST_NONCE, EXAMPLE_POST_BODY, EXAMPLE_POST_SIGNATURE):
        assert value in API_MD
    body = EXAMPLE_POST_BODY.encode("utf-8")
    assert f"body of {len(body)} bytes" in API_MD
    # when the server's own code signs them
    message = signing.string_to_sign(
        method="POST",
        path=EXAMPLE_POST_PATH,
        query_string="",
        timestamp=EXAMPLE_TIMESTAMP,
        nonce=EXAMPLE_POST_NONCE,
        body=body,
    )
    # then the string to sign and the signature are the ones printed
    assert f"```\n{message}\n```" in API_MD
    assert repr(message) in API_MD
    assert signing.compute_signature(EXAMPLE_SECRET, message) == EXAMPLE_POST_SIGNATURE


def test_worked_get_example_reproduces_with_the_server_code() -> None:
    assert f"GET {EXAMPLE_GET_PATH}?{EXAMPLE_GET_QUERY}" in API_MD
    message = signing.string_to_sign(
        method="GET",
        path=EXAMPLE_GET_PATH,
        query_string=EXAMPLE_GET_QUERY,
        timestamp=EXAMPLE_TIMESTAMP,
        nonce=EXAMPLE_GET_NONCE,
        body=b"",
    )
    assert f"```\n{message}\n```" in API_MD
    assert signing.compute_signature(EXAMPLE_SECRET, message) == EXAMPLE_GET_SIGNATURE
    assert EXAMPLE_GET_SIGNATURE in API_MD
    assert signing.body_digest(b"") == EMPTY_BODY_DIGEST and EMPTY_BODY_DIGEST in API_MD


def test_canonical_query_table_matches_the_server_code() -> None:
    table = API_MD.split("| query as sent | canonical query |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\s*\| `([^`]+)` \| `([^`]+)` \|$", table, re.MULTILINE)
    assert len(rows) >= 4
    for sent, canonical in rows:
        assert signing.canonical_query(sent) == canonical, sent


# --- the client example -------------------------------------------------------------------

SIGNING_CASES = [
    ("POST", EXAMPLE_POST_PATH, "", EXAMPLE_POST_BODY.encode("utf-8")),
    ("GET", EXAMPLE_GET_PATH, EXAMPLE_GET_QUERY, b""),
    ("get", "/api/v1/reconciliation/daily", "date=2026-01-01&basis=issue", b""),
    ("GET", "/api/v1/receipts", "b=2&a=x%20y&a=1&flag&q=a+b&name=%E5%BC%A0%E4%B8%89&t=~._-!*'()", b""),
    ("POST", "/api/v1/receipts/batch", "", '{"receipts": [{"payer": {"name": "王五"}}]}'.encode()),
]


@pytest.mark.parametrize(("method", "path", "query", "body"), SIGNING_CASES)
def test_client_example_signs_like_the_server(
    client_example: ModuleType, method: str, path: str, query: str, body: bytes
) -> None:
    expected = signing.compute_signature(
        EXAMPLE_SECRET,
        signing.string_to_sign(
            method=method, path=path, query_string=query, timestamp=EXAMPLE_TIMESTAMP, nonce="n" * 16, body=body
        ),
    )
    given = client_example.sign_request(
        EXAMPLE_SECRET, method=method, path=path, query=query, timestamp=EXAMPLE_TIMESTAMP, nonce="n" * 16, body=body
    )
    assert given == expected
    assert client_example.canonical_query(query) == signing.canonical_query(query)


def test_client_example_reproduces_the_worked_example(client_example: ModuleType) -> None:
    headers = client_example.signed_headers(
        app_id="ak_demo_furong_hospital",
        secret=EXAMPLE_SECRET,
        method="POST",
        path=EXAMPLE_POST_PATH,
        body=EXAMPLE_POST_BODY.encode("utf-8"),
        timestamp=EXAMPLE_TIMESTAMP,
        nonce=EXAMPLE_POST_NONCE,
    )
    assert headers["X-Signature"] == EXAMPLE_POST_SIGNATURE
    for name, value in headers.items():
        assert f"{name}: {value}" in API_MD


def test_client_example_fresh_headers_are_well_formed(client_example: ModuleType) -> None:
    headers = client_example.signed_headers(app_id="ak_x", secret="s", method="GET", path="/api/v1/receipts")
    assert signing.TIMESTAMP_RE.match(headers["X-Timestamp"])
    assert signing.NONCE_RE.match(headers["X-Nonce"])
    assert signing.SIGNATURE_RE.match(headers["X-Signature"])


def test_client_example_payload_is_a_well_formed_request(client_example: ModuleType) -> None:
    data, errors = parse_issue_input(
        {**client_example.PAYLOAD, "busNo": client_example.new_bus_no()}, require_bus_no=True
    )
    assert not errors, errors.fields
    assert data is not None and set(data.ext) <= set(KIND_FIELDS)


def test_client_example_defaults_are_the_demo_ones(client_example: ModuleType) -> None:
    assert client_example.DEFAULT_BASE_URL == "http://127.0.0.1:8000"
    assert client_example.DEFAULT_APP_ID == "ak_demo_furong_hospital"
    assert client_example.DEFAULT_SECRET == "demo-secret-furong-hospital-2026"
    assert client_example.DEMO_UNIT_CODE == "430102001"


# --- end to end against a live server ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_client_example_issues_and_fetches_against_a_live_server(
    client_example: ModuleType, live_server: Any, unit: Unit
) -> None:
    # given an interface unit with credentials and the client pointed at a running server
    issued = credential_create(unit=unit, actor=Actor.system("tests"), label="client example")
    client = client_example.ApiClient(live_server.url, issued.credential.app_id, issued.secret)
    payload = outpatient_payload("LIVE-0001")

    # when it issues a receipt
    status, receipt = client.issue(payload)

    # then the receipt is created and can be fetched back by busNo
    assert status == 201, receipt
    assert receipt["unitCode"] == unit.code and receipt["busNo"] == "LIVE-0001"
    status, fetched = client.receipt_by_bus_no("LIVE-0001")
    assert status == 200, fetched
    assert (fetched["receiptCode"], fetched["receiptNumber"], fetched["checkCode"]) == (
        receipt["receiptCode"],
        receipt["receiptNumber"],
        receipt["checkCode"],
    )
    # and the same request again answers with the same receipt
    status, again = client.issue(payload)
    assert status == 200 and again["receiptNumber"] == receipt["receiptNumber"]
    # and the daily totals count it once
    status, totals = client.daily_totals(receipt["issueDate"])
    assert status == 200, totals
    assert totals["total"] == {"count": 1, "amount": "25.00", "redCount": 0, "redAmount": "0.00", "netAmount": "25.00"}
    # and errors come back in the documented shape
    status, error = client.receipt_by_bus_no("NO-SUCH-BUS-NO")
    assert status == 404 and error == {"code": "RECEIPT_NOT_FOUND", "message": "未找到该票据。", "extra": {}}


@pytest.mark.django_db(transaction=True)
def test_client_example_main_runs_against_a_live_server(
    client_example: ModuleType, live_server: Any, unit: Unit, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # given the environment variables the script reads, and a payload that fits the test unit
    issued = credential_create(unit=unit, actor=Actor.system("tests"))
    monkeypatch.setenv("EREC_BASE_URL", live_server.url)
    monkeypatch.setenv("EREC_APP_ID", issued.credential.app_id)
    monkeypatch.setenv("EREC_SECRET", issued.secret)
    payload = outpatient_payload()
    del payload["busNo"]
    monkeypatch.setattr(client_example, "PAYLOAD", payload)

    # when the script runs / then it issues, fetches and reconciles
    assert client_example.main() == 0
    output = capsys.readouterr().out
    assert "HTTP 201" in output and "fetch by busNo: HTTP 200" in output and '"netAmount": "25.00"' in output
