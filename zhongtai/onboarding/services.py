"""Writes of the onboarding workflow (单位接入与推广): applications and their decisions, the
one-time credential handover, the joint-test checklist, networked units going live, and
the province's rollout deadlines.

Every service owns its transaction and writes its audit row inside it. Who may take a
step is decided by :mod:`zhongtai.onboarding.rules`, checked again here under the
application's row lock; a refusal is an ``ApplicationError`` with a Chinese message.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from typing import Any, NoReturn

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from issuance.models import Receipt
from issuance.paper.services import paper_outstanding_count, paper_stock_retire_unused
from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt, secret_encrypt
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding import rules
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.locks import lock_application, lock_handover
from zhongtai.onboarding.models import (
    DEADLINE_STAGES,
    Application,
    CheckItem,
    CheckRecord,
    CredentialHandover,
    Deadline,
    UnitRollout,
)
from zhongtai.onboarding.selectors import checklist_missing
from zhongtai.signing.services import unit_hosted_certificate_ensure

APPLICATION = "onboarding_application"


# --- What an application says ----------------------------------------------------------


@dataclass(frozen=True)
class ConnectionDetails:
    """The connection application's content (对接申请)."""

    system_name: str
    system_vendor: str
    tech_contact: str
    tech_phone: str
    expected_daily_volume: int
    planned_date: datetime.date
    key_custody: str
    remark: str = ""


@dataclass(frozen=True)
class GoLiveDetails:
    """The go-live application's content (上线申请): the planned day of the switch."""

    planned_date: datetime.date
    remark: str = ""


@dataclass(frozen=True)
class PaperStopDetails:
    """The paper-stop application's content (停用纸质票据申请): from which day paper stops."""

    planned_date: datetime.date
    remark: str = ""


Details = ConnectionDetails | GoLiveDetails | PaperStopDetails
_DETAILS_OF_KIND: dict[str, type[Details]] = {
    Application.Kind.CONNECTION: ConnectionDetails,
    Application.Kind.GO_LIVE: GoLiveDetails,
    Application.Kind.PAPER_STOP: PaperStopDetails,
}


def _actor(scope: Scope) -> Actor:
    return Actor.user(scope.username)


def _refuse(code: OnboardingError, message: str, extra: dict[str, Any] | None = None, status: int = 400) -> NoReturn:
    raise ApplicationError(code, message, extra, status=status)


def _not_your_step(message: str) -> NoReturn:
    _refuse(OnboardingError.NOT_YOUR_STEP, message, status=403)


def _check_details(details: Details) -> dict[str, Any]:
    """The model fields the details set; refuses content the database would refuse."""
    values = {f.name: getattr(details, f.name) for f in fields(details)}
    problems = {}
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = value = value.strip()
        if name != "remark" and value in ("", None):
            problems[name] = "必填。"
        limit = getattr(Application._meta.get_field(name), "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            problems[name] = f"不能超过 {limit} 个字符。"
    if isinstance(details, ConnectionDetails):
        if details.key_custody not in Application.KeyCustody.values:
            problems["key_custody"] = "请选择签名密钥保管方式。"
        if not isinstance(details.expected_daily_volume, int) or details.expected_daily_volume < 1:
            problems["expected_daily_volume"] = "预计日开票量应为正整数。"
    if problems:
        _refuse(OnboardingError.INVALID_APPLICATION, "申请内容不完整。", {"fields": problems})
    return values


def _audit(*, scope: Scope, action: str, application: Application, **data: Any) -> None:
    unit = application.unit
    audit_record(
        actor=_actor(scope),
        action=action,
        object_type=APPLICATION,
        object_id=application.pk,
        unit_code=unit.code,
        region_code=unit.region.code,
        data={"kind": application.kind, "status": application.status, **data},
    )


def _rollout_mark(*, unit: Unit, field: str, at: datetime.datetime, **extra: Any) -> bool:
    """Set a stage's time on the unit's rollout row if not set yet; True when this call set it."""
    UnitRollout.objects.bulk_create([UnitRollout(unit=unit)], ignore_conflicts=True)
    return bool(UnitRollout.objects.filter(pk=unit.pk, **{f"{field}__isnull": True}).update(**{field: at}, **extra))


# --- Filing ------------------------------------------------------------------------------


def _require_interface(unit: Unit) -> None:
    if unit.connection_mode != Unit.ConnectionMode.INTERFACE:
        _refuse(OnboardingError.NOT_INTERFACE_UNIT, "只有接口单位需要办理对接申请和上线申请；联网单位在门户开票。")


def _require_active(unit: Unit) -> None:
    if unit.status != Unit.Status.ACTIVE:
        _refuse(OnboardingError.UNIT_INACTIVE, "单位已暂停或注销，不能办理申请。")


def _connection_approved(unit: Unit) -> bool:
    return Application.objects.filter(
        unit=unit, kind=Application.Kind.CONNECTION, status=Application.Status.APPROVED
    ).exists()


def _preconditions(*, unit: Unit, kind: str) -> None:
    """What must hold before an application of ``kind`` is (re)submitted, checked in its transaction."""
    _require_active(unit)
    if kind == Application.Kind.CONNECTION:
        _require_interface(unit)
    elif kind == Application.Kind.GO_LIVE:
        _require_interface(unit)
        if not _connection_approved(unit):
            _refuse(OnboardingError.CONNECTION_NOT_APPROVED, "对接申请尚未经省厅批准，不能申请上线。")
        missing = checklist_missing(unit=unit)
        if missing:
            labels = "、".join(CheckItem(item).label for item in missing)
            _refuse(
                OnboardingError.CHECKLIST_INCOMPLETE,
                f"联调测试尚未全部通过（未通过：{labels}），不能申请上线。",
                {"missing": list(missing)},
            )
    elif kind == Application.Kind.PAPER_STOP:
        _require_paper_stop_possible(unit)


def _require_paper_stop_possible(unit: Unit) -> None:
    rollout = UnitRollout.objects.filter(pk=unit.pk).first()
    if rollout is not None and rollout.paper_stopped_at is not None:
        _refuse(OnboardingError.PAPER_ALREADY_STOPPED, "该单位已停用纸质票据。")
    if rollout is None or rollout.live_at is None:
        if unit.connection_mode == Unit.ConnectionMode.INTERFACE:
            _refuse(OnboardingError.NOT_LIVE, "接口单位须先经上线申请批准上线，才能停用纸质票据。")
        if not _has_portal_receipts(unit):
            _refuse(OnboardingError.NOT_LIVE, "该单位尚未在门户开具电子票据，不能停用纸质票据。")
    outstanding = paper_outstanding_count(unit=unit)
    if outstanding:
        _refuse(
            OnboardingError.PAPER_OUTSTANDING,
            f"该单位还有 {outstanding} 份已换开的纸质票据未收回，请先收回作废后再停用纸质票据。",
            {"outstanding": outstanding},
        )


def _has_portal_receipts(unit: Unit) -> bool:
    return Receipt.objects.filter(unit=unit, source=Receipt.Source.PORTAL, sandbox=False).exists()


def _networked_live_by_issuance(*, unit: Unit, actor: Actor, at: datetime.datetime) -> None:
    """A networked unit that issued in the portal is live; recorded when first needed (paper stop)."""
    if unit.connection_mode != Unit.ConnectionMode.NETWORKED:
        return
    if _rollout_mark(
        unit=unit, field="live_at", at=at, live_basis=UnitRollout.LiveBasis.PORTAL_ISSUANCE, live_by=actor.name
    ):
        audit_record(
            actor=actor,
            action="onboarding.unit_live",
            object_type="unit",
            object_id=unit.code,
            unit_code=unit.code,
            region_code=unit.region.code,
            data={"basis": UnitRollout.LiveBasis.PORTAL_ISSUANCE},
        )


def application_file(*, scope: Scope, unit: Unit, kind: str, details: Details) -> Application:
    """File an application of ``kind`` for ``unit``: the unit's administrator, or a bureau for a paper stop."""
    if kind not in _DETAILS_OF_KIND or not isinstance(details, _DETAILS_OF_KIND[kind]):
        raise TypeError(f"{type(details).__name__} is not the content of a {kind} application")
    if not rules.can_file(scope=scope, unit=unit, kind=kind):
        _not_your_step("您不能为该单位提交此类申请。")
    values = _check_details(details)
    now = timezone.now()
    actor = _actor(scope)
    try:
        with transaction.atomic():
            existing = Application.objects.filter(unit=unit, kind=kind).first()
            if existing is not None:
                hint = "已被退回，请修改后重新提交" if existing.status == Application.Status.REJECTED else "已提交过"
                _refuse(OnboardingError.APPLICATION_EXISTS, f"该单位的{existing.get_kind_display()}{hint}。")
            _preconditions(unit=unit, kind=kind)
            application = Application.objects.create(
                unit=unit,
                kind=kind,
                filed_by=scope.username,
                filed_by_bureau=scope.is_bureau,
                submitted_at=now,
                **values,
            )
            if kind == Application.Kind.CONNECTION:
                _rollout_mark(unit=unit, field="applied_at", at=now)
            if kind == Application.Kind.PAPER_STOP:
                _networked_live_by_issuance(unit=unit, actor=actor, at=now)
            _audit(
                scope=scope, action="onboarding.application_file", application=application, details=_jsonable(values)
            )
    except IntegrityError as exc:
        # Two filings at once: the unique (unit, kind) constraint keeps one.
        raise ApplicationError(OnboardingError.APPLICATION_EXISTS, "该单位已提交过此类申请。") from exc
    return application


def application_resubmit(*, scope: Scope, application: Application, details: Details) -> Application:
    """Send a rejected application back to its bureau with corrected content."""
    if not isinstance(details, _DETAILS_OF_KIND[application.kind]):
        raise TypeError(f"{type(details).__name__} is not the content of a {application.kind} application")
    values = _check_details(details)
    with transaction.atomic():
        application = lock_application(application_id=application.pk)
        if application.status != Application.Status.REJECTED:
            _refuse(OnboardingError.APPLICATION_STATE, "只有已退回的申请可以重新提交。", status=409)
        if not rules.can_resubmit(scope=scope, application=application):
            _not_your_step("您不能重新提交该申请。")
        _preconditions(unit=application.unit, kind=application.kind)
        previous_reason = application.rejection_reason
        for name, value in values.items():
            setattr(application, name, value)
        application.status = Application.Status.SUBMITTED
        application.filed_by = scope.username
        application.filed_by_bureau = scope.is_bureau
        application.submitted_at = timezone.now()
        application.resubmissions += 1
        # The earlier decisions stay in the audit trail; the row shows the current round.
        application.confirmed_at = application.approved_at = application.rejected_at = None
        application.confirmed_by = application.approved_by = application.rejected_by = ""
        application.rejection_reason = ""
        application.save()
        _audit(
            scope=scope,
            action="onboarding.application_resubmit",
            application=application,
            previous_reason=previous_reason,
            details=_jsonable(values),
        )
    return application


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in values.items()}


# --- Decisions -----------------------------------------------------------------------------


def application_confirm(*, scope: Scope, application: Application) -> Application:
    """The bureau confirms (区县/市局确认). For a paper stop this is the decision: the unit's
    unused paper numbers are retired (核销清理) in the same transaction."""
    with transaction.atomic():
        application = lock_application(application_id=application.pk)
        if application.status != Application.Status.SUBMITTED:
            _refuse(OnboardingError.APPLICATION_STATE, "该申请当前不在待确认状态。", status=409)
        if scope.username == application.filed_by and rules.can_reject(scope=scope, application=application):
            _refuse(OnboardingError.SAME_PERSON, "不能确认自己提交的申请，请由其他工作人员确认。", status=403)
        if not rules.can_confirm(scope=scope, application=application):
            _not_your_step("该申请不由您确认。")
        _require_active(application.unit)
        now = timezone.now()
        application.status = Application.Status.CONFIRMED
        application.confirmed_at = now
        application.confirmed_by = scope.username
        extra: dict[str, Any] = {}
        if application.kind == Application.Kind.PAPER_STOP:
            extra["retired"] = application.paper_retired_count = _paper_stop(
                scope=scope, application=application, at=now
            )
        application.save()
        _audit(scope=scope, action="onboarding.application_confirm", application=application, **extra)
    return application


def _paper_stop(*, scope: Scope, application: Application, at: datetime.datetime) -> int:
    unit = application.unit
    _require_paper_stop_possible(unit)
    retired = paper_stock_retire_unused(
        unit=unit, actor=_actor(scope), reason=f"停用纸质票据（申请 #{application.pk}）核销清理"
    )
    UnitRollout.objects.filter(pk=unit.pk, paper_stopped_at__isnull=True).update(
        paper_stopped_at=at, paper_retired_count=retired
    )
    return retired


def application_approve(*, scope: Scope, application: Application) -> Application:
    """The province approves (省厅批准) and hands out credentials: sandbox ones for a connection,
    production ones for a go-live. The secret waits, encrypted, for the unit to reveal it once."""
    with transaction.atomic():
        application = lock_application(application_id=application.pk)
        if application.kind == Application.Kind.PAPER_STOP or application.status != Application.Status.CONFIRMED:
            _refuse(OnboardingError.APPLICATION_STATE, "该申请当前不在待批准状态。", status=409)
        if scope.username == application.confirmed_by and rules.can_reject(scope=scope, application=application):
            _refuse(OnboardingError.SAME_PERSON, "不能批准自己确认的申请，请由其他工作人员批准。", status=403)
        if not rules.can_approve(scope=scope, application=application):
            _not_your_step("只有省级财政部门可以批准该申请。")
        unit = application.unit
        _require_active(unit)
        now = timezone.now()
        sandbox = application.kind == Application.Kind.CONNECTION
        issued = credential_create(
            unit=unit,
            actor=_actor(scope),
            label=f"{'联调测试' if sandbox else '生产'}凭证（{application.get_kind_display()} #{application.pk}）",
            scope=ApiCredential.Scope.ISSUE,
            sandbox=sandbox,
        )
        CredentialHandover.objects.create(
            application=application,
            credential=issued.credential,
            sandbox=sandbox,
            secret_encrypted=secret_encrypt(issued.secret),
        )
        application.status = Application.Status.APPROVED
        application.approved_at = now
        application.approved_by = scope.username
        application.save()
        if sandbox and application.key_custody == Application.KeyCustody.HOSTED:
            # The platform keeps this unit's signing key: its (sandbox) receipts can be signed at once.
            unit_hosted_certificate_ensure(unit=unit, actor=_actor(scope))
        if sandbox:
            _rollout_mark(unit=unit, field="joint_test_at", at=now)
        else:
            _rollout_mark(
                unit=unit,
                field="live_at",
                at=now,
                live_basis=UnitRollout.LiveBasis.GO_LIVE_APPROVAL,
                live_by=scope.username,
            )
        _audit(
            scope=scope,
            action="onboarding.application_approve",
            application=application,
            app_id=issued.credential.app_id,
            sandbox=sandbox,
        )
    return application


def application_reject(*, scope: Scope, application: Application, reason: str) -> Application:
    """Send an application back (退回) with a reason, at the confirmation or the approval step."""
    reason = (reason or "").strip()
    if not reason:
        _refuse(OnboardingError.REASON_REQUIRED, "请填写退回原因。")
    if len(reason) > 500:
        _refuse(OnboardingError.REASON_REQUIRED, "退回原因不能超过 500 字。")
    with transaction.atomic():
        application = lock_application(application_id=application.pk)
        if not application.is_open:
            _refuse(OnboardingError.APPLICATION_STATE, "该申请已办结，不能退回。", status=409)
        if not rules.can_reject(scope=scope, application=application):
            _not_your_step("该申请当前不由您办理。")
        step = application.status
        application.status = Application.Status.REJECTED
        application.rejected_at = timezone.now()
        application.rejected_by = scope.username
        application.rejection_reason = reason
        application.save()
        _audit(scope=scope, action="onboarding.application_reject", application=application, step=step, reason=reason)
    return application


# --- Credential handover -------------------------------------------------------------------


def credential_handover_reveal(*, scope: Scope, handover: CredentialHandover) -> str:
    """The secret, once, to the unit's administrator; erased from the handover row in the same transaction."""
    with transaction.atomic():
        handover = lock_handover(handover_id=handover.pk)
        application = handover.application
        if not handover.waiting:
            _refuse(
                OnboardingError.SECRET_ALREADY_REVEALED,
                f"该密钥已于 {timezone.localtime(handover.revealed_at):%Y-%m-%d %H:%M} "
                f"由 {handover.revealed_by} 查看过，不能再次显示。如遗失，请联系财政部门吊销后重新申请。",
                status=409,
            )
        if not rules.can_reveal(scope=scope, handover=handover, application=application):
            _not_your_step("只有本单位的单位管理员可以查看密钥。")
        secret = secret_decrypt(handover.secret_encrypted)
        handover.secret_encrypted = ""
        handover.revealed_at = timezone.now()
        handover.revealed_by = scope.username
        handover.save(update_fields=["secret_encrypted", "revealed_at", "revealed_by"])
        _audit(
            scope=scope,
            action="onboarding.credential_reveal",
            application=application,
            app_id=handover.credential.app_id,
            sandbox=handover.sandbox,
        )
    return secret


# --- Joint-test checklist --------------------------------------------------------------------


def _checklist_upsert_sql() -> str:
    """INSERT ... ON CONFLICT (unit, item) DO UPDATE ... RETURNING count, quoted for the connection."""
    meta = CheckRecord._meta
    q = connection.ops.quote_name
    t = q(meta.db_table)
    unit, item, first, last, count, app = (
        q(meta.get_field(name).column)
        for name in ("unit", "item", "first_passed_at", "last_passed_at", "count", "last_app_id")
    )
    return (
        f"INSERT INTO {t} ({unit}, {item}, {first}, {last}, {count}, {app}) VALUES (%s, %s, %s, %s, 1, %s) "
        f"ON CONFLICT ({unit}, {item}) DO UPDATE SET {count} = {t}.{count} + 1, {app} = EXCLUDED.{app}, "
        # Two concurrent calls may commit out of order: the last time only moves forward.
        f"{last} = CASE WHEN EXCLUDED.{last} > {t}.{last} THEN EXCLUDED.{last} ELSE {t}.{last} END "
        f"RETURNING {count}"
    )


def checklist_record(*, unit: Unit, item: CheckItem, app_id: str) -> bool:
    """Count one successful sandbox call of ``item`` for ``unit``; True when the item passed for the first time.

    One upsert (INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike), so
    concurrent calls neither lose a count nor collide; the first pass is audited.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_checklist_upsert_sql(), [unit.pk, str(item), now, now, app_id])
            (count,) = cursor.fetchone()
        first = count == 1
        if first:
            audit_record(
                actor=Actor.api_client(app_id),
                action="onboarding.check_pass",
                object_type="unit",
                object_id=unit.code,
                unit_code=unit.code,
                region_code=unit.region.code,
                data={"item": str(item)},
            )
    return first


# --- Networked units going live ----------------------------------------------------------------


def unit_live_confirm(*, scope: Scope, unit: Unit) -> UnitRollout:
    """A bureau confirms a networked unit live (确认上线): it must have issued e-receipts in the portal."""
    if not rules.can_confirm_live(scope=scope, unit=unit):
        _not_your_step("只有该单位的区县或市级财政部门可以确认联网单位上线。")
    _require_active(unit)
    with transaction.atomic():
        if not _has_portal_receipts(unit):
            _refuse(OnboardingError.NO_PORTAL_RECEIPTS, "该单位尚未在门户开具电子票据，不能确认上线。")
        if not _rollout_mark(
            unit=unit,
            field="live_at",
            at=timezone.now(),
            live_basis=UnitRollout.LiveBasis.BUREAU_DECISION,
            live_by=scope.username,
        ):
            _refuse(OnboardingError.ALREADY_LIVE, "该单位已上线。", status=409)
        audit_record(
            actor=_actor(scope),
            action="onboarding.unit_live",
            object_type="unit",
            object_id=unit.code,
            unit_code=unit.code,
            region_code=unit.region.code,
            data={"basis": UnitRollout.LiveBasis.BUREAU_DECISION},
        )
    return UnitRollout.objects.get(pk=unit.pk)


# --- Rollout deadlines ---------------------------------------------------------------------------


def deadline_set(*, scope: Scope, stage: str, due_date: datetime.date, region: Region | None) -> Deadline:
    """Set (or move) the deadline of ``stage``, province-wide or for ``region``."""
    if scope.read_only or not scope.can(Permission.SET_DEADLINES) or not scope.is_province:
        _not_your_step("只有省级财政部门可以设定推广时限。")
    if stage not in DEADLINE_STAGES:
        _refuse(OnboardingError.INVALID_DEADLINE, "未知的推广阶段。")
    if region is not None and (region.level == Region.Level.PROVINCE or not scope.covers_region_code(region.code)):
        _refuse(OnboardingError.INVALID_DEADLINE, "适用区划应为本省的市或区县；全省时限请不选区划。")
    with transaction.atomic():
        deadline = (
            Deadline.objects.select_for_update(of=("self",)).filter(stage=stage, region=region).order_by("pk").first()
        )
        previous = deadline.due_date.isoformat() if deadline else None
        if deadline is None:
            deadline = Deadline(stage=stage, region=region)
        deadline.due_date = due_date
        deadline.set_by = scope.username
        deadline.save()
        audit_record(
            actor=_actor(scope),
            action="onboarding.deadline_set",
            object_type="onboarding_deadline",
            object_id=deadline.pk,
            region_code=region.code if region else "",
            data={"stage": stage, "due_date": due_date.isoformat(), "previous": previous},
        )
    return deadline


def deadline_delete(*, scope: Scope, deadline: Deadline) -> None:
    if scope.read_only or not scope.can(Permission.SET_DEADLINES) or not scope.is_province:
        _not_your_step("只有省级财政部门可以设定推广时限。")
    with transaction.atomic():
        audit_record(
            actor=_actor(scope),
            action="onboarding.deadline_delete",
            object_type="onboarding_deadline",
            object_id=deadline.pk,
            region_code=deadline.region.code if deadline.region_id else "",
            data={"stage": deadline.stage, "due_date": deadline.due_date.isoformat()},
        )
        Deadline.objects.filter(pk=deadline.pk).delete()
