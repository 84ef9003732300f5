"""Reads of the webhooks app."""

from __future__ import annotations

from django.db.models import QuerySet

from verification.models import PartyCredential
from zhongtai.accounts.scoping import Scope
from zhongtai.gateway.models import ApiCredential
from zhongtai.webhooks.models import RedOffsetAlert, WebhookEndpoint


def endpoint_of_api_credential(*, credential: ApiCredential) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(api_credential=credential).first()


def endpoint_of_party_credential(*, credential: PartyCredential) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(party_credential=credential).first()


def alerts_open_for(*, scope: Scope) -> QuerySet[RedOffsetAlert]:
    """Open red-offset alerts a bureau sees: its region and the regions below it."""
    alerts = RedOffsetAlert.objects.filter(state=RedOffsetAlert.State.OPEN)
    if scope.region_prefix is None:
        return alerts.none()
    return alerts.filter(region_code__startswith=scope.region_prefix)
