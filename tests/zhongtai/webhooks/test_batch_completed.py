"""batch.completed: the batch answer's batchId, GET /api/v1/batches/{id}, and the callback once all are signed."""

from __future__ import annotations

from typing import Any

from issuance.jobs import job_requeue
from issuance.models import Receipt, ReceiptJob, SignStatus
from tests.conftest import nontax_payload
from tests.support.api import SignedClient
from tests.zhongtai.webhooks.conftest import Receiver, register
from tests.zhongtai.webhooks.test_receipt_red_offset_webhook import documented_verifier
from zhongtai.audit.services import Actor
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import Unit
from zhongtai.webhooks.batches import batches_check_after_signing, batches_sweep
from zhongtai.webhooks.models import DeliveryStatus, IssueBatch, WebhookDelivery

BATCH = "/api/v1/receipts/batch"
UNIT_HOOK = "/api/v1/webhook"


def _batch(client: SignedClient, capture: Any, *bus_nos: str, extra: list[dict[str, Any]] | None = None) -> Any:
    with capture(execute=True):
        response = client.post(BATCH, {"receipts": [nontax_payload(b) for b in bus_nos] + (extra or [])})
    assert response.status_code == 200, response.json()
    return response.json()


def test_batch_completed_after_every_receipt_is_signed(
    api: SignedClient, pki: dict[str, Any], receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    # given an interface unit with a callback address
    secret = register(api, receiver.url, path=UNIT_HOOK)["secret"]
    # when it sends a batch with two good requests and a bad one
    body = _batch(
        api,
        django_capture_on_commit_callbacks,
        "HIS-1",
        "HIS-2",
        extra=[nontax_payload("HIS-BAD", totalAmount="1.00")],
    )
    # then the answer keeps its shape and names the batch of the two receipts it created
    assert (body["total"], body["created"], body["failed"]) == (3, 2, 1)
    batch = IssueBatch.objects.get()
    assert body["batchId"] == str(batch.public_id) and batch.receipt_count == 2
    # and, the pipeline having signed both, the unit was called back once, signed
    calls = receiver.of_type("batch.completed")
    assert len(calls) == 1
    event = documented_verifier()(secret, calls[0].headers, calls[0].body)
    data = event["data"]
    assert event["sandbox"] is False and data["batchId"] == body["batchId"] and data["completed"] is True
    assert (data["total"], data["signed"], data["failed"], data["pending"]) == (2, 2, 0, 0)
    assert [(r["busNo"], r["signStatus"], r["error"]) for r in data["receipts"]] == [
        ("HIS-1", "signed", None),
        ("HIS-2", "signed", None),
    ]
    assert [r["receiptNumber"] for r in data["receipts"]] == [
        r["receipt"]["receiptNumber"] for r in body["results"][:2]
    ]
    batch.refresh_from_db()
    assert batch.completed_at is not None
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    # and the lookup answers the same
    looked_up = api.get(f"/api/v1/batches/{body['batchId']}").json()
    assert looked_up["completed"] is True and looked_up["signed"] == 2


def test_failed_signing_completes_the_batch_with_its_errors(
    api: SignedClient, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    # given no signing certificate: the sign step fails for good (签章失败)
    register(api, receiver.url, path=UNIT_HOOK)
    body = _batch(api, django_capture_on_commit_callbacks, "F-1", "F-2")
    assert set(Receipt.objects.values_list("sign_status", flat=True)) == {SignStatus.FAILED}
    data = receiver.of_type("batch.completed")[0].json["data"]
    assert data["batchId"] == body["batchId"]
    assert (data["signed"], data["failed"], data["pending"]) == (0, 2, 0)
    assert all(r["signStatus"] == "failed" and r["error"] for r in data["receipts"])


def test_batch_still_signing_is_not_complete(api: SignedClient, receiver: Receiver) -> None:
    # given a batch whose hand-over to the workers did not run yet (on_commit not executed)
    register(api, receiver.url, path=UNIT_HOOK)
    response = api.post(BATCH, {"receipts": [nontax_payload("P-1")]})
    batch_id = response.json()["batchId"]
    looked_up = api.get(f"/api/v1/batches/{batch_id}").json()
    assert looked_up["completed"] is False and looked_up["pending"] == 1
    assert looked_up["receipts"][0]["signStatus"] == "pending"
    # the sweeper does not complete it either
    assert batches_sweep() == 0
    assert not receiver.calls and not WebhookDelivery.objects.exists()


def test_sweeper_completes_a_batch_the_hook_missed(
    api: SignedClient, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    register(api, receiver.url, path=UNIT_HOOK)
    api.post(BATCH, {"receipts": [nontax_payload("S-1")]})
    # the receipt finished signing by a path that tells no batch (e.g. the unit signed it itself)
    Receipt.objects.update(sign_status=SignStatus.SIGNED)
    with django_capture_on_commit_callbacks(execute=True):
        assert batches_sweep() == 1
    assert len(receiver.of_type("batch.completed")) == 1
    # once only
    assert batches_sweep() == 0
    assert WebhookDelivery.objects.count() == 1


def test_requests_that_create_nothing_have_no_batch(api: SignedClient, django_capture_on_commit_callbacks: Any) -> None:
    _batch(api, django_capture_on_commit_callbacks, "R-1")
    repeat = _batch(api, django_capture_on_commit_callbacks, "R-1")
    assert repeat["existing"] == 1 and repeat["batchId"] is None
    assert IssueBatch.objects.count() == 1


def test_batch_without_a_callback_address_is_still_tracked(
    api: SignedClient, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    body = _batch(api, django_capture_on_commit_callbacks, "N-1")
    assert api.get(f"/api/v1/batches/{body['batchId']}").json()["completed"] is True
    assert not WebhookDelivery.objects.exists()


def test_sandbox_batch_is_called_back_marked_sandbox(
    unit: Unit, pki: dict[str, Any], receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    issued = credential_create(unit=unit, actor=Actor.system("tests"), sandbox=True)
    sandbox_api = SignedClient(issued.credential.app_id, issued.secret)
    register(sandbox_api, receiver.url, path=UNIT_HOOK)
    body = _batch(sandbox_api, django_capture_on_commit_callbacks, "SBX-1")
    event = receiver.of_type("batch.completed")[0].json
    assert event["sandbox"] is True and event["data"]["batchId"] == body["batchId"]
    assert IssueBatch.objects.get().sandbox is True


def test_batch_lookup_is_scoped_to_the_unit_and_environment(
    api: SignedClient, other_api: SignedClient, unit: Unit, django_capture_on_commit_callbacks: Any
) -> None:
    body = _batch(api, django_capture_on_commit_callbacks, "L-1")
    url = f"/api/v1/batches/{body['batchId']}"
    assert api.get(url).status_code == 200
    # another unit's batch, and the same unit's from the sandbox, are not found
    assert other_api.get(url).json()["code"] == "BATCH_NOT_FOUND"
    issued = credential_create(unit=unit, actor=Actor.system("tests"), sandbox=True)
    assert SignedClient(issued.credential.app_id, issued.secret).get(url).status_code == 404
    # a malformed id is invalid input; an unknown one not found
    assert api.get("/api/v1/batches/not-a-uuid").json()["code"] == "INVALID_INPUT"
    assert api.get("/api/v1/batches/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.post(url, {}).status_code == 405


def test_another_credentials_address_is_not_called(
    api: SignedClient, unit: Unit, pki: dict[str, Any], receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    """batch.completed goes to the address of the credential that sent the batch, not to its siblings'."""
    issued = credential_create(unit=unit, actor=Actor.system("tests"))
    register(SignedClient(issued.credential.app_id, issued.secret), receiver.url, path=UNIT_HOOK)
    _batch(api, django_capture_on_commit_callbacks, "C-1")
    assert not receiver.calls


def test_completion_check_is_one_query_per_chunk(api: SignedClient, django_assert_num_queries: Any) -> None:
    api.post(BATCH, {"receipts": [nontax_payload("Q-1"), nontax_payload("Q-2")]})
    ids = list(Receipt.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        assert batches_check_after_signing(receipt_ids=ids) == 0
    with django_assert_num_queries(0):
        assert batches_check_after_signing(receipt_ids=[]) == 0


def test_requeued_signing_does_not_complete_twice(
    api: SignedClient, pki: dict[str, Any], receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    register(api, receiver.url, path=UNIT_HOOK)
    _batch(api, django_capture_on_commit_callbacks, "T-1")
    job = ReceiptJob.objects.get(step=ReceiptJob.Step.SIGN)
    job.state = ReceiptJob.State.DEAD
    job.save(update_fields=["state"])
    with django_capture_on_commit_callbacks(execute=True):
        job_requeue(job_id=job.pk)
    assert len(receiver.of_type("batch.completed")) == 1
