"""Django model permissions of the bureau roles, held by one Group per role.

The admin (the bureaus' workbench) shows a model only to users with its Django permissions;
which rows they see and may change is then decided by the region scoping in
:mod:`zhongtai.accounts.admin_scoping`. Unit roles and auditors get no group: they never
reach the admin.

The groups are brought in line with :data:`ROLE_PERMISSIONS` after every ``migrate``
(``post_migrate``) and whenever a user is given a bureau role, so a permission added here
reaches existing groups without a data migration. Master data is never deleted through the
admin (a unit is cancelled, not deleted), so no role has a ``delete_`` permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.models import Permission as ModelPermission
from django.db.models import Q

from zhongtai.accounts.models import Role

ROLE_GROUP_NAMES: dict[str, str] = {
    Role.PROVINCE_ADMIN: "省级管理员",
    Role.BUREAU_STAFF: "财政部门工作人员",
}

_VIEW = ("view",)
_EDIT = ("view", "add", "change")
_MASTER_DATA = ("region", "financebureau", "unit", "issuingpoint", "receiptkind", "feeitem", "feestandard")
_ONBOARDING = ("application", "checkrecord", "credentialhandover", "deadline", "unitrollout")

# app label -> model -> actions. Whether a row may be changed (its region, province-wide data)
# is decided per row by the admin scoping, not here.
_BUREAU: dict[str, dict[str, tuple[str, ...]]] = {
    "masterdata": dict.fromkeys(_MASTER_DATA, _EDIT),
    "numbering": {"numbersequence": _VIEW, "numberrange": _VIEW},
    # Changing a credential (its label) and revoking it concern the bureau's own units.
    "gateway": {"apicredential": ("view", "change")},
    "audit": {"auditevent": _VIEW},
    "issuance": {"receipt": _VIEW, "receiptjob": _VIEW},
    "signing": {"certificateauthority": _VIEW, "certificate": _VIEW, "revocationlist": _VIEW},
    "accounts": {"profile": _EDIT},
    # Paper stock, the message log and onboarding change only through their own pages and services.
    "paper": {"paperstock": _VIEW, "paperuse": _VIEW},
    "messaging": {"outgoingmessage": _VIEW},
    "onboarding": dict.fromkeys(_ONBOARDING, _VIEW),
    # Reimbursing parties serve the whole province: bureaus look them up, the province runs them.
    "verification": {"reimbursingparty": _VIEW, "partycredential": _VIEW, "receiptentry": _VIEW},
    # The national outbox and the daily reconciliation with the national platform.
    "national": {"nationalevent": _VIEW},
    "settlement": {"nationalreconciliation": _VIEW},
    # Callback addresses of their units (parties': the province, by scoping), requeueing dead
    # callbacks, and acknowledging red-offsets of reimbursed receipts (确认已处理).
    "webhooks": {
        "webhookendpoint": _EDIT,
        "webhookdelivery": ("view", "change"),
        "issuebatch": _VIEW,
        "redoffsetalert": ("view", "change"),
    },
}
# The province also runs the platform: it requeues dead pipeline jobs and revokes certificates.
_PROVINCE: dict[str, dict[str, tuple[str, ...]]] = {
    **_BUREAU,
    "issuance": {"receipt": _VIEW, "receiptjob": ("view", "change")},
    "signing": {"certificateauthority": _VIEW, "certificate": ("view", "change"), "revocationlist": _VIEW},
    # It registers reimbursing parties and issues and revokes their credentials (entries stay theirs).
    "verification": {"reimbursingparty": _EDIT, "partycredential": ("view", "change"), "receiptentry": _VIEW},
    # It requeues the national outbox's dead letters.
    "national": {"nationalevent": ("view", "change")},
}

ROLE_PERMISSIONS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    Role.PROVINCE_ADMIN: _PROVINCE,
    Role.BUREAU_STAFF: _BUREAU,
}


def permission_codes(role: str) -> set[tuple[str, str]]:
    """(app label, codename) of every permission the role's group holds."""
    table = ROLE_PERMISSIONS.get(role, {})
    return {
        (app_label, f"{action}_{model}")
        for app_label, models in table.items()
        for model, actions in models.items()
        for action in actions
    }


def _permissions(codes: set[tuple[str, str]], using: str) -> list[ModelPermission]:
    if not codes:
        return []
    condition = Q()
    for app_label, codename in codes:
        condition |= Q(content_type__app_label=app_label, codename=codename)
    return list(ModelPermission.objects.using(using).filter(condition))


def role_group_sync(*, role: str, using: str = "default") -> Group:
    """The role's group, created if missing, holding exactly the role's permissions."""
    group, _ = Group.objects.using(using).get_or_create(name=ROLE_GROUP_NAMES[role])
    group.permissions.set(_permissions(permission_codes(role), using))
    return group


def role_groups_sync(*, using: str = "default") -> None:
    for role in ROLE_GROUP_NAMES:
        role_group_sync(role=role, using=using)


def role_groups_apply(*, user: Any, role: str | None) -> None:
    """Make ``user`` a member of ``role``'s group only (of the role groups); none for other roles."""
    role_groups = Group.objects.filter(name__in=ROLE_GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    if role in ROLE_GROUP_NAMES:
        user.groups.add(role_group_sync(role=role))


def sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: make sure every app's permissions exist, then sync the groups.

    Permissions are created by another post_migrate receiver, app by app; apps after this
    one in INSTALLED_APPS would not have theirs yet, so create them all first.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    role_groups_sync(using=using)
