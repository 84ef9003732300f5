from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from zhongtai.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who did it: a platform user, an interface application, or the system."""

    type: str
    name: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(AuditEvent.ActorType.SYSTEM, name)

    @classmethod
    def user(cls, username: str) -> Actor:
        return cls(AuditEvent.ActorType.USER, username)

    @classmethod
    def api_client(cls, app_id: str) -> Actor:
        return cls(AuditEvent.ActorType.API_CLIENT, app_id)


def audit_build(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    unit_code: str = "",
    region_code: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved audit row, for callers that bulk-insert many at once."""
    return AuditEvent(
        actor_type=actor.type,
        actor=actor.name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        unit_code=unit_code,
        region_code=region_code,
        data=data or {},
    )


def audit_record(**kwargs: Any) -> AuditEvent:
    """Write one audit row; must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change")
    event = audit_build(**kwargs)
    event.save()
    return event
