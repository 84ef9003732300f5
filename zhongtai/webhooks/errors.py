"""Error codes of webhook registration and batch lookup (docs/api.md lists them)."""

from __future__ import annotations

from zhongtai.core.errors import ErrorCode


class WebhookError(ErrorCode):
    WEBHOOK_URL_INVALID = "WEBHOOK_URL_INVALID"
    WEBHOOK_EVENTS_INVALID = "WEBHOOK_EVENTS_INVALID"
    WEBHOOK_NOT_FOUND = "WEBHOOK_NOT_FOUND"
    BATCH_NOT_FOUND = "BATCH_NOT_FOUND"
    ALERT_ALREADY_ACKNOWLEDGED = "ALERT_ALREADY_ACKNOWLEDGED"
    ALERT_NOTE_INVALID = "ALERT_NOTE_INVALID"
