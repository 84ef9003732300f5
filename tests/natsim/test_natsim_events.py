"""``POST /v1/events``: real signed receipts accepted, anything else answered with its documented result."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import threading
from typing import Any

import pytest

from issuance.models import Receipt
from tests.natsim.conftest import issued_event, status_event
from tests.support.natsim import Natsim


def results_of(answer: tuple[int, Any]) -> list[tuple[str, str]]:
    status, body = answer
    assert status == 200, body
    return [(result["status"], result["code"]) for result in body["results"]]


def rewrite(event: dict[str, Any], content: bytes) -> dict[str, Any]:
    """The event with another data file (and the matching hash)."""
    changed = copy.deepcopy(event)
    changed["data"]["dataFile"] = base64.b64encode(content).decode("ascii")
    changed["data"]["dataFileSha256"] = hashlib.sha256(content).hexdigest()
    return changed


def datafile(event: dict[str, Any]) -> bytes:
    return base64.b64decode(event["data"]["dataFile"])


def test_a_real_signed_receipt_is_accepted_and_stored(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    event = issued_event(signed, pki)

    assert results_of(sim.post_events([event])) == [("accepted", "OK")]

    stored = sim.events(receipt_code=signed.receipt_code, number=signed.number)
    assert [(e["seq"], e["type"], e["offered"]) for e in stored] == [(1, "issued", 1)]
    assert sim.stats()["counters"]["accepted"] == 1


def test_a_tampered_data_file_is_rejected_as_signature_invalid(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    # given the payer's name changed after signing (the hash is recomputed, so only the signature tells)
    event = issued_event(signed, pki)
    content = re.sub(rb"<PayerPartyName>[^<]+<", "<PayerPartyName>李四<".encode(), datafile(event))

    # when
    status, body = sim.post_events([rewrite(event, content)])

    # then
    assert status == 200
    result = body["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "SIGNATURE_INVALID")
    assert "单位签名" in result["message"]
    assert sim.events(receipt_code=signed.receipt_code) == []


def test_a_receipt_not_chaining_to_the_registered_root_is_rejected(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    # given 430000 registered with a root that did not sign this receipt's chain
    from zhongtai.signing import sm2
    from zhongtai.signing import x509 as certs

    key = sm2.generate_private_key()
    import datetime

    moment = datetime.datetime.now(datetime.UTC)
    other_root = certs.certificate_build(
        profile=certs.Profile.ROOT_CA,
        serial=certs.random_serial(),
        subject=certs.name_build([("country_name", "CN"), ("common_name", "另一个根CA")]),
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(key)),
        not_before=moment - datetime.timedelta(days=1),
        not_after=moment + datetime.timedelta(days=365),
        issuer_key=key,
        issuer_certificate_der=None,
    )
    sim.register_province("430000", sim.secret, certs.der_to_pem(other_root))

    assert results_of(sim.post_events([issued_event(signed, pki)])) == [("rejected", "SIGNATURE_INVALID")]


def test_without_the_issuing_ca_the_chain_cannot_be_built(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    # given only the root registered (no CA link) and an event carrying only the two signers' certificates
    from zhongtai.signing import x509 as certs

    sim.register_province("430000", sim.secret, certs.der_to_pem(bytes(pki["ca"].root.certificate.der)))
    event = issued_event(signed, pki)
    event["data"]["certificates"] = (
        certs.der_to_pem(bytes(pki["unit_cert"].der)) + certs.der_to_pem(bytes(pki["seal_cert"].der))
    ).decode("ascii")

    assert results_of(sim.post_events([event])) == [("rejected", "SIGNATURE_INVALID")]

    # and with the issuing CA in the event (what the platform sends), the same receipt is accepted
    assert results_of(sim.post_events([issued_event(signed, pki)])) == [("accepted", "OK")]


def test_a_wrong_hash_is_rejected(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    event = issued_event(signed, pki)
    event["data"]["dataFileSha256"] = "0" * 64

    assert results_of(sim.post_events([event])) == [("rejected", "DATAFILE_HASH_MISMATCH")]


@pytest.mark.parametrize(
    ("field", "value"),
    [("checkCode", "000000"), ("totalAmount", "999.00"), ("issueDate", "2020-01-01")],
)
def test_an_event_that_disagrees_with_its_data_file_is_rejected(
    sim: Natsim, signed: Receipt, pki: dict[str, Any], field: str, value: str
) -> None:
    event = issued_event(signed, pki)
    event["data"][field] = value

    assert results_of(sim.post_events([event])) == [("rejected", "DATAFILE_MISMATCH")]


def test_a_data_file_that_is_not_xml_is_rejected(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    event = rewrite(issued_event(signed, pki), b"%PDF-1.7 not a data file")

    assert results_of(sim.post_events([event])) == [("rejected", "DATAFILE_INVALID")]


def test_a_sandbox_receipt_is_rejected(
    sim: Natsim, pki: dict[str, Any], unit: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receipt the unit issued in the sandbox (联调测试), genuinely signed with the marker
    from tests.issuance.test_sandbox_api import _client, issue

    issue(_client(unit), django_capture_on_commit_callbacks, "SANDBOX1")
    receipt = Receipt.objects.get(bus_no="SANDBOX1", sandbox=True)

    assert results_of(sim.post_events([issued_event(receipt, pki)])) == [("rejected", "SANDBOX_RECEIPT")]


def test_the_same_event_again_is_a_duplicate_and_counted(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    event = issued_event(signed, pki)
    sim.post_events([event])

    assert results_of(sim.post_events([event])) == [("duplicate", "DUPLICATE")]
    assert [e["offered"] for e in sim.events(receipt_code=signed.receipt_code)] == [2]


def test_the_same_seq_with_other_content_is_a_conflict(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    code, number = signed.receipt_code, signed.number
    sim.post_events([issued_event(signed, pki), status_event(code, number, 2, "paper_converted")])

    answer = sim.post_events([status_event(code, number, 2, "paper_converted", paperNumber="ZZ00000002")])

    assert results_of(answer) == [("rejected", "CONFLICT")]
    assert [e["data"] for e in sim.events(receipt_code=code, number=number) if e["seq"] == 2] == [
        {"paperNumber": "ZZ00000001"}
    ]


def test_a_gap_in_seq_is_answered_retry(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    code, number = signed.receipt_code, signed.number

    # a status event before its receipt's issue, and seq 3 before seq 2
    early = sim.post_events([status_event(code, number, 2, "entered")])
    sim.post_events([issued_event(signed, pki)])
    gap = sim.post_events([status_event(code, number, 3, "entry_cancelled")])

    assert results_of(early) == [("retry", "SEQ_GAP")]
    assert results_of(gap) == [("retry", "SEQ_GAP")]
    assert [e["seq"] for e in sim.events(receipt_code=code, number=number)] == [1]

    # once seq 2 arrives, seq 3 is accepted, in one batch and in order
    answer = sim.post_events(
        [status_event(code, number, 2, "entered"), status_event(code, number, 3, "entry_cancelled")]
    )
    assert results_of(answer) == [("accepted", "OK"), ("accepted", "OK")]


def test_a_status_event_of_a_receipt_whose_issue_was_refused_is_unknown(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    event = issued_event(signed, pki)
    event["data"]["dataFileSha256"] = "0" * 64
    sim.post_events([event])

    answer = sim.post_events([status_event(signed.receipt_code, signed.number, 2, "red_offset")])

    assert results_of(answer) == [("rejected", "UNKNOWN_RECEIPT")]


def test_a_receipt_of_another_province_is_refused(sim: Natsim) -> None:
    answer = sim.post_events([status_event("42010126", 1, 2, "entered")])

    assert results_of(answer) == [("rejected", "PROVINCE_MISMATCH")]


@pytest.mark.parametrize(
    "change",
    [
        {"receiptCode": "4301012"},
        {"number": 0},
        {"number": "1"},
        {"seq": 0},
        {"type": "stolen"},
        {"occurredAt": "2026-11-27T10:00:00"},
        {"seq": 1},  # seq 1 must be issued
        {"data": {"paperNumber": ""}},
        {"extra": 1},
    ],
)
def test_a_malformed_event_is_invalid(sim: Natsim, change: dict[str, Any]) -> None:
    event = {**status_event("43010126", 1, 2, "paper_converted"), **change}

    status, body = sim.post_events([event])

    assert status == 200
    result = body["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "INVALID_EVENT")
    assert result["message"]


def test_results_come_in_the_order_of_the_batch(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    code, number = signed.receipt_code, signed.number
    batch = [
        issued_event(signed, pki),
        status_event(code, number, 2, "paper_converted"),
        status_event("42010126", 1, 2, "entered"),
        status_event(code, number, 4, "paper_recovered"),
    ]

    status, body = sim.post_events(batch)

    assert status == 200
    assert [(r["seq"], r["status"]) for r in body["results"]] == [
        (1, "accepted"),
        (2, "accepted"),
        (2, "rejected"),
        (4, "retry"),
    ]


@pytest.mark.parametrize("body", [{"events": []}, {"events": "x"}, {"other": 1}, [1]])
def test_a_malformed_batch_is_a_400(sim: Natsim, body: Any) -> None:
    status, answer = sim.request("POST", "/v1/events", body=body)

    assert (status, answer["code"]) == (400, "INVALID_BATCH")


def test_more_than_100_events_is_a_400(sim: Natsim) -> None:
    events = [status_event("43010126", n, 2, "entered") for n in range(1, 102)]

    status, answer = sim.post_events(events)

    assert (status, answer["code"]) == (400, "INVALID_BATCH")


def test_two_threads_posting_the_same_event_store_it_once(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    event = issued_event(signed, pki)
    answers: list[tuple[str, str]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        answers.extend(results_of(sim.post_events([event])))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [("accepted", "OK")] + [("duplicate", "DUPLICATE")] * 3
    stored = sim.events(receipt_code=signed.receipt_code)
    assert len(stored) == 1 and stored[0]["offered"] == 4
    assert sim.stats()["stored"]["storedReceipts"] == 1


def test_an_issued_event_sent_again_with_its_certificates_in_another_order_is_a_duplicate(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    event = issued_event(signed, pki)
    sim.post_events([event])
    again = copy.deepcopy(event)
    blocks = again["data"]["certificates"].split("-----END CERTIFICATE-----\n")
    again["data"]["certificates"] = "-----END CERTIFICATE-----\n".join(reversed(blocks[:-1])) + (
        "-----END CERTIFICATE-----\n"
    )

    assert results_of(sim.post_events([again])) == [("duplicate", "DUPLICATE")]


def test_an_issued_event_sent_again_with_other_data_is_a_conflict(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    event = issued_event(signed, pki)
    sim.post_events([event])
    changed = copy.deepcopy(event)
    changed["data"]["unitName"] = "另一个单位"

    assert results_of(sim.post_events([changed])) == [("rejected", "CONFLICT")]
