"""Number allocation (赋码) services.

Two ways to number, both gapless:

* **auto** — each receipt takes the next number of its code's ``NumberSequence``;
* **range** — the province reserves a block (号段) from the sequence, hands it down
  the region tree, and a unit issues from its own blocks in order.

Allocation runs inside the caller's issuing transaction: if the issuance fails, the
allocation rolls back with it and no number is burnt.

The sandbox (联调测试) numbers from sequences of its own (``sandbox=True``), always in
auto mode: its receipts never take, nor show, a production number.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import ReceiptKind, Region, Unit
from zhongtai.numbering.errors import NumberingError
from zhongtai.numbering.locks import lock_range, lock_sequences, lock_unit_ranges
from zhongtai.numbering.models import MAX_RECEIPT_NUMBER, NumberRange, NumberSequence


def receipt_code_for(*, kind: ReceiptKind, year: int) -> str:
    """票据代码: province (2) + category (2) + kind (2) + year (2)."""
    return f"{settings.EREC_PROVINCE_CODE}{kind.category_code}{kind.kind_code}{year % 100:02d}"


def check_code_generate() -> str:
    """校验码: 6 lower-case hex characters from the OS's cryptographic source."""
    return secrets.token_hex(3)


def format_number(number: int) -> str:
    return f"{number:010d}"


def sequence_ensure(*, kind: ReceiptKind, year: int, sandbox: bool = False) -> NumberSequence:
    """The sequence row of a code in one environment, created on first use (safe under concurrency)."""
    code = receipt_code_for(kind=kind, year=year)
    try:
        return NumberSequence.objects.get(receipt_code=code, sandbox=sandbox)
    except NumberSequence.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return NumberSequence.objects.create(receipt_code=code, sandbox=sandbox, kind=kind, year=year)
    except IntegrityError:
        return NumberSequence.objects.get(receipt_code=code, sandbox=sandbox)


def exhaustion_error(
    *, unit: Unit, receipt_code: str, needed: int, available: int, sandbox: bool = False
) -> ApplicationError:
    """The refusal for a request that found no number left for its receipt code."""
    extra = {"receiptCode": receipt_code, "needed": needed, "available": available}
    if unit.numbering_mode == Unit.NumberingMode.RANGE and not sandbox:
        return ApplicationError(
            NumberingError.RANGE_EXHAUSTED,
            f"本单位票据代码 {receipt_code} 的号段余量不足，请向财政部门申领号段。",
            extra,
            status=409,
        )
    return ApplicationError(
        NumberingError.NUMBERS_EXHAUSTED, f"票据代码 {receipt_code} 的号码已用尽。", extra, status=409
    )


def numbers_allocate(
    *, unit: Unit, needs: dict[str, int], partial: bool = False, sandbox: bool = False
) -> dict[str, list[int]]:
    """Allocate ``needs[code]`` numbers per receipt code for ``unit``, in the caller's transaction.

    The sequences (or the unit's ranges) stay locked until the caller commits, which
    is what makes numbers gapless and unique. Callers ensure sequences exist first
    (``sequence_ensure`` with the same ``sandbox``). When numbers run out, the whole
    allocation is refused; with ``partial`` the lists are shorter instead, so that a
    batch can refuse only what did not fit. In the sandbox the numbers come from the
    sandbox sequences, whatever the unit's numbering mode.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers_allocate must run inside the issuing transaction")
    needs = {code: count for code, count in needs.items() if count > 0}
    if not needs:
        return {}
    if unit.numbering_mode == Unit.NumberingMode.RANGE and not sandbox:
        allocated = _allocate_from_ranges(unit=unit, needs=needs)
    else:
        allocated = _allocate_from_sequences(needs=needs, sandbox=sandbox)
    if not partial:
        for code, count in needs.items():
            if len(allocated[code]) < count:
                raise exhaustion_error(
                    unit=unit, receipt_code=code, needed=count, available=len(allocated[code]), sandbox=sandbox
                )
    return allocated


def _allocate_from_sequences(*, needs: dict[str, int], sandbox: bool = False) -> dict[str, list[int]]:
    sequences = lock_sequences(receipt_codes=needs, sandbox=sandbox)
    allocated: dict[str, list[int]] = {}
    for code in sorted(needs):
        sequence = sequences.get(code)
        if sequence is None:
            environment = "sandbox " if sandbox else ""
            raise RuntimeError(f"{environment}sequence {code} missing; call sequence_ensure first")
        first = sequence.next_number
        count = max(0, min(needs[code], MAX_RECEIPT_NUMBER - first + 1))
        if count:
            NumberSequence.objects.filter(pk=sequence.pk).update(next_number=first + count)
        allocated[code] = list(range(first, first + count))
    return allocated


def _allocate_from_ranges(*, unit: Unit, needs: dict[str, int]) -> dict[str, list[int]]:
    ranges = sorted(
        lock_unit_ranges(unit_id=unit.pk, receipt_codes=needs),
        key=lambda r: (r.receipt_code, r.start_number),
    )
    allocated: dict[str, list[int]] = {code: [] for code in needs}
    for number_range in ranges:
        code = number_range.receipt_code
        wanted = needs[code] - len(allocated[code])
        take = min(wanted, number_range.remaining)
        if take <= 0:
            continue
        allocated[code].extend(range(number_range.cursor, number_range.cursor + take))
        NumberRange.objects.filter(pk=number_range.pk).update(cursor=number_range.cursor + take)
    return allocated


def number_range_reserve(*, kind: ReceiptKind, year: int, count: int, region: Region, actor: Actor) -> NumberRange:
    """The province reserves ``count`` numbers of a code from its sequence as a block."""
    if region.level != Region.Level.PROVINCE:
        raise ApplicationError(NumberingError.RANGE_HOLDER_INVALID, "只有省级财政部门可以从号码序列中预留号段。")
    if count < 1:
        raise ApplicationError(NumberingError.RANGE_COUNT_INVALID, "号段数量必须大于 0。")
    sequence_ensure(kind=kind, year=year)
    code = receipt_code_for(kind=kind, year=year)
    with transaction.atomic():
        numbers = _allocate_from_sequences(needs={code: count})[code]
        if len(numbers) < count:
            raise ApplicationError(
                NumberingError.NUMBERS_EXHAUSTED,
                f"票据代码 {code} 剩余号码不足 {count} 个。",
                {"receiptCode": code, "available": len(numbers)},
                status=409,
            )
        number_range = NumberRange.objects.create(
            receipt_code=code,
            kind=kind,
            start_number=numbers[0],
            end_number=numbers[-1],
            cursor=numbers[0],
            region=region,
            created_by=actor.name,
        )
        audit_record(
            actor=actor,
            action="number_range.reserve",
            object_type="number_range",
            object_id=number_range.pk,
            region_code=region.code,
            data={"receiptCode": code, "start": numbers[0], "end": numbers[-1]},
        )
    return number_range


def number_range_hand_down(
    *,
    parent_id: int,
    count: int,
    actor: Actor,
    to_region: Region | None = None,
    to_unit: Unit | None = None,
) -> NumberRange:
    """Hand the next ``count`` numbers of a region's block down to a lower region or a unit."""
    if (to_region is None) == (to_unit is None):
        raise ApplicationError(NumberingError.RANGE_HOLDER_INVALID, "号段必须下发给一个下级区划或一个单位。")
    if count < 1:
        raise ApplicationError(NumberingError.RANGE_COUNT_INVALID, "号段数量必须大于 0。")
    with transaction.atomic():
        parent = lock_range(range_id=parent_id)
        if parent.region is None:
            raise ApplicationError(NumberingError.RANGE_NOT_DIVISIBLE, "单位持有的号段不能再下发。")
        target_region = to_region if to_region is not None else to_unit.region  # type: ignore[union-attr]
        if not parent.region.contains(target_region) or (to_region is not None and to_region == parent.region):
            raise ApplicationError(NumberingError.RANGE_HOLDER_INVALID, "号段只能下发给本区划的下级区划或所辖单位。")
        if count > parent.remaining:
            raise ApplicationError(
                NumberingError.RANGE_EXHAUSTED,
                f"号段余量不足：剩余 {parent.remaining} 个号码。",
                {"available": parent.remaining},
                status=409,
            )
        start = parent.cursor
        child = NumberRange.objects.create(
            receipt_code=parent.receipt_code,
            kind=parent.kind,
            start_number=start,
            end_number=start + count - 1,
            cursor=start,
            region=to_region,
            unit=to_unit,
            parent=parent,
            created_by=actor.name,
        )
        NumberRange.objects.filter(pk=parent.pk).update(cursor=start + count)
        holder = to_unit or to_region
        audit_record(
            actor=actor,
            action="number_range.hand_down",
            object_type="number_range",
            object_id=child.pk,
            unit_code=to_unit.code if to_unit else "",
            region_code=target_region.code,
            data={
                "parent": parent.pk,
                "receiptCode": parent.receipt_code,
                "start": start,
                "end": start + count - 1,
                "holder": str(holder),
            },
        )
    return child
