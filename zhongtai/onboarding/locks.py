"""Row locks of the onboarding workflow, always taken in one order.

An application row first; then the unit's rollout row (by a conditional UPDATE); then
whatever the called services lock (credential rows, the paper stock of
``issuance.paper``). A credential handover is locked on its own, in its own transaction.
"""

from __future__ import annotations

from django.db import transaction

from zhongtai.onboarding.models import Application, CredentialHandover


def lock_application(*, application_id: int) -> Application:
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("unit", "unit__region")
        .get(pk=application_id)
    )


def lock_handover(*, handover_id: int) -> CredentialHandover:
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return (
        CredentialHandover.objects.select_for_update(of=("self",))
        .select_related("application", "application__unit", "application__unit__region", "credential")
        .get(pk=handover_id)
    )
