"""The joint-test checklist fills itself from the unit's sandbox traffic (联调测试检查项).

After each response, when the gateway authenticated the call with a sandbox credential
(it sets ``request.api_credential``) and the call succeeded (2xx), the checklist item of
the endpoint is recorded for the credential's unit. Recording never breaks the API
response: a failure is logged and the response goes out unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from zhongtai.onboarding.models import CheckItem
from zhongtai.onboarding.services import checklist_record

logger = logging.getLogger(__name__)

# URL name -> (HTTP method, checklist item).
ENDPOINT_ITEMS: dict[str, tuple[str, CheckItem]] = {
    "receipt-issue": ("POST", CheckItem.ISSUED),
    "receipt-detail": ("GET", CheckItem.FETCHED),
    "receipt-by-bus-no": ("GET", CheckItem.FETCHED),
    "receipt-datafile": ("GET", CheckItem.FETCHED),
    "receipt-layout-file": ("GET", CheckItem.FETCHED),
    "receipt-batch": ("POST", CheckItem.BATCH_ISSUED),
    "receipt-red-offset": ("POST", CheckItem.RED_OFFSET),
    "reconciliation-daily": ("GET", CheckItem.RECONCILED),
}


def _batch_issued_something(response: HttpResponse) -> bool:
    """A batch answers 200 even when every receipt failed: it passes only if one was issued."""
    data = getattr(response, "data", None)
    if not isinstance(data, dict):
        return False
    return int(data.get("created") or 0) + int(data.get("existing") or 0) > 0


class JointTestChecklistMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        credential = getattr(request, "api_credential", None)
        if credential is not None and getattr(credential, "sandbox", False) and 200 <= response.status_code < 300:
            try:
                self._record(request, response, credential)
            except Exception:  # the API answer matters more than the checklist
                logger.exception("joint-test checklist: could not record %s %s", request.method, request.path)
        return response

    def _record(self, request: HttpRequest, response: HttpResponse, credential: object) -> None:
        match = request.resolver_match
        endpoint = ENDPOINT_ITEMS.get(match.url_name or "") if match is not None else None
        if endpoint is None or request.method != endpoint[0]:
            return
        item = endpoint[1]
        if item == CheckItem.BATCH_ISSUED and not _batch_issued_something(response):
            return
        checklist_record(unit=credential.unit, item=item, app_id=credential.app_id)  # type: ignore[attr-defined]
