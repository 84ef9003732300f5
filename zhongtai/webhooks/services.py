"""Writes of the webhooks app: callback addresses, the red-offset event and the bureau's alert."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from issuance.models import Receipt
from verification.models import PartyCredential, ReceiptEntry
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_encrypt
from zhongtai.gateway.models import ApiCredential
from zhongtai.webhooks.addresses import webhook_url_check
from zhongtai.webhooks.errors import WebhookError
from zhongtai.webhooks.events import deliveries_create
from zhongtai.webhooks.models import EventType, RedOffsetAlert, WebhookEndpoint

NOTE_MAX_LENGTH = 500


@dataclass(frozen=True)
class EndpointOutcome:
    endpoint: WebhookEndpoint
    secret: str | None  # a new signing secret, shown once; None when it did not change


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _owner_fields(
    api_credential: ApiCredential | None, party_credential: PartyCredential | None
) -> tuple[dict[str, Any], tuple[str, ...], str, str]:
    """(the endpoint's owner fields, the events it may take, unit code, region code)."""
    if (api_credential is None) == (party_credential is None):
        raise ValueError("exactly one of api_credential and party_credential")
    if api_credential is not None:
        unit = api_credential.unit
        fields = {"api_credential": api_credential, "unit": unit, "sandbox": api_credential.sandbox}
        return fields, (EventType.BATCH_COMPLETED.value,), unit.code, unit.region.code
    assert party_credential is not None
    fields = {"party_credential": party_credential, "party": party_credential.party, "sandbox": False}
    return fields, (EventType.RECEIPT_RED_OFFSET.value,), "", ""


def webhook_events_check(events: object, *, allowed: tuple[str, ...]) -> list[str]:
    """The events asked for: a non-empty list of distinct event types this owner may take."""
    if events is None:
        return list(allowed)
    if not isinstance(events, list) or not events or not all(isinstance(name, str) for name in events):
        raise ApplicationError(
            WebhookError.WEBHOOK_EVENTS_INVALID, "订阅事件应为非空的事件类型数组。", {"allowed": list(allowed)}
        )
    unknown = sorted({name for name in events if name not in allowed})
    if unknown:
        raise ApplicationError(
            WebhookError.WEBHOOK_EVENTS_INVALID,
            f"不能订阅这些事件：{'、'.join(unknown)}。",
            {"allowed": list(allowed), "unknown": unknown},
        )
    return list(dict.fromkeys(events))


def endpoint_save(
    *,
    actor: Actor,
    url: object,
    events: object = None,
    rotate_secret: bool = False,
    api_credential: ApiCredential | None = None,
    party_credential: PartyCredential | None = None,
) -> EndpointOutcome:
    """Register or change the callback address of one credential, and (re-)enable it.

    A new address gets a new signing secret; an existing one keeps its secret unless
    ``rotate_secret``. The secret is returned here only, never stored in clear.
    """
    owner, allowed, unit_code, region_code = _owner_fields(api_credential, party_credential)
    clean_url = webhook_url_check(url)
    clean_events = webhook_events_check(events, allowed=allowed)
    owner_filter = {key: value for key, value in owner.items() if key.endswith("_credential")}
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(**owner_filter).first()
        now = timezone.now()
        secret: str | None = None
        if endpoint is None:
            secret = _new_secret()
            endpoint = WebhookEndpoint.objects.create(
                **owner,
                url=clean_url,
                events=clean_events,
                secret_encrypted=secret_encrypt(secret),
                status=WebhookEndpoint.Status.ENABLED,
                updated_by=actor.name,
                secret_rotated_at=now,
            )
            action = "webhook.register"
        else:
            if rotate_secret:
                secret = _new_secret()
                endpoint.secret_encrypted = secret_encrypt(secret)
                endpoint.secret_rotated_at = now
            endpoint.url = clean_url
            endpoint.events = clean_events
            endpoint.status = WebhookEndpoint.Status.ENABLED
            endpoint.updated_by = actor.name
            endpoint.save()
            action = "webhook.update"
        audit_record(
            actor=actor,
            action=action,
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            unit_code=unit_code,
            region_code=region_code,
            data={
                "url": clean_url,
                "events": clean_events,
                "secretRotated": secret is not None,
                "owner": _owner_name(endpoint),
                **({"sandbox": True} if endpoint.sandbox else {}),
            },
        )
    return EndpointOutcome(endpoint=endpoint, secret=secret)


def endpoint_set_status(*, endpoint: WebhookEndpoint, enabled: bool, actor: Actor) -> WebhookEndpoint:
    """Turn a callback address off (no new deliveries; queued ones give up) or on again."""
    target = WebhookEndpoint.Status.ENABLED if enabled else WebhookEndpoint.Status.DISABLED
    with transaction.atomic():
        updated = (
            WebhookEndpoint.objects.filter(pk=endpoint.pk)
            .exclude(status=target)
            .update(status=target, updated_by=actor.name, updated_at=timezone.now())
        )
        if updated:
            audit_record(
                actor=actor,
                action="webhook.enable" if enabled else "webhook.disable",
                object_type="webhook_endpoint",
                object_id=endpoint.pk,
                unit_code=endpoint.unit.code if endpoint.unit_id else "",
                region_code=endpoint.unit.region.code if endpoint.unit_id else "",
                data={"owner": _owner_name(endpoint), "url": endpoint.url},
            )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor) -> EndpointOutcome:
    """A new signing secret for an address, as it is (the workbench's action)."""
    return endpoint_save(
        actor=actor,
        url=endpoint.url,
        events=endpoint.events,
        rotate_secret=True,
        api_credential=endpoint.api_credential,
        party_credential=endpoint.party_credential,
    )


def _owner_name(endpoint: WebhookEndpoint) -> str:
    if endpoint.api_credential_id is not None:
        return f"api:{endpoint.api_credential.app_id}"
    return f"party:{endpoint.party_credential.app_id}"


# --- receipt.red_offset and the bureau's alert ----------------------------------------------


def _entry_snapshot(entry: ReceiptEntry) -> dict[str, Any]:
    return {
        "entryId": entry.pk,
        "partyName": entry.party.name,
        "partyCreditCode": entry.party.credit_code,
        "kind": entry.kind,
        "amount": format(Decimal(entry.amount), "f"),
        "entryDate": entry.entry_date.isoformat(),
        "reference": entry.reference,
        "enteredAt": timezone.localtime(entry.entered_at).isoformat(),
    }


def red_offset_notify(*, original: Receipt, red: Receipt, reason: str, actor: Actor) -> RedOffsetAlert | None:
    """In the red-offset's transaction, under the original's row lock: tell who reimbursed it.

    If the original has active entries (it was reimbursed or booked), its bureau gets a
    :class:`RedOffsetAlert` (with an audit row), and every party holding one of those
    entries gets a ``receipt.red_offset`` call on each of its enabled callback addresses.
    Entries are recorded and cancelled under the same row lock, so what is read here is
    exactly what stood at the red-offset. Nothing for a receipt nobody entered.
    """
    assert transaction.get_connection().in_atomic_block, "called inside the red-offset's transaction"
    entries = list(
        ReceiptEntry.objects.filter(receipt_id=original.pk, status=ReceiptEntry.Status.ACTIVE)
        .select_related("party")
        .order_by("entered_at", "pk")
    )
    if not entries:
        return None
    snapshot = [_entry_snapshot(entry) for entry in entries]
    claimed = sum((Decimal(entry.amount) for entry in entries), Decimal("0"))
    alert = RedOffsetAlert.objects.create(
        receipt=original,
        red_receipt=red,
        unit_id=original.unit_id,
        region_code=original.region_code,
        reason=reason[:200],
        claimed_amount=claimed,
        entries=snapshot,
        created_at=red.issued_at,
    )
    audit_record(
        actor=actor,
        action="red_offset_alert.create",
        object_type="red_offset_alert",
        object_id=alert.pk,
        unit_code=original.unit.code,
        region_code=original.region_code,
        data={
            "receiptCode": original.receipt_code,
            "number": original.number_text,
            "redReceipt": {"receiptCode": red.receipt_code, "number": red.number_text},
            "claimedAmount": format(claimed, "f"),
            "entries": len(entries),
        },
    )
    base = {
        "receiptCode": original.receipt_code,
        "receiptNumber": original.number_text,
        "totalAmount": format(Decimal(original.total_amount), "f"),
        "unitName": original.unit.name,
        "unitCreditCode": original.unit.credit_code,
        "redReceiptCode": red.receipt_code,
        "redReceiptNumber": red.number_text,
        "reason": reason,
        "redOffsetAt": timezone.localtime(red.issued_at).isoformat(),
    }
    by_party: dict[int, list[dict[str, Any]]] = {}
    for entry, shown in zip(entries, snapshot, strict=True):
        by_party.setdefault(entry.party_id, []).append(
            {key: value for key, value in shown.items() if key not in ("partyName", "partyCreditCode")}
        )
    endpoints = WebhookEndpoint.objects.filter(
        party_id__in=by_party,
        status=WebhookEndpoint.Status.ENABLED,
        party_credential__status=PartyCredential.Status.ACTIVE,
    ).order_by("pk")
    deliveries_create(
        endpoint_data=[
            (endpoint, {**base, "entries": by_party[endpoint.party_id]})
            for endpoint in endpoints
            if EventType.RECEIPT_RED_OFFSET in endpoint.events
        ],
        event_type=EventType.RECEIPT_RED_OFFSET,
        event_key=f"receipt:{red.pk}",
        region_code=original.region_code,
    )
    return alert


def alert_acknowledge(*, alert: RedOffsetAlert, note: str, actor: Actor) -> RedOffsetAlert:
    """确认已处理: the bureau records what it did about a reimbursed receipt's red-offset."""
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        raise ApplicationError(WebhookError.ALERT_NOTE_INVALID, "请填写处理说明。")
    if len(text) > NOTE_MAX_LENGTH:
        raise ApplicationError(WebhookError.ALERT_NOTE_INVALID, f"处理说明不能超过 {NOTE_MAX_LENGTH} 个字符。")
    with transaction.atomic():
        now = timezone.now()
        updated = RedOffsetAlert.objects.filter(pk=alert.pk, state=RedOffsetAlert.State.OPEN).update(
            state=RedOffsetAlert.State.ACKNOWLEDGED, acknowledged_by=actor.name, acknowledged_at=now, note=text
        )
        if not updated:
            raise ApplicationError(WebhookError.ALERT_ALREADY_ACKNOWLEDGED, "该提醒已确认处理。", status=409)
        audit_record(
            actor=actor,
            action="red_offset_alert.acknowledge",
            object_type="red_offset_alert",
            object_id=alert.pk,
            unit_code=alert.unit.code,
            region_code=alert.region_code,
            data={"note": text},
        )
    alert.refresh_from_db()
    return alert
