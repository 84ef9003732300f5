"""Receipts of other provinces (跨省查验), looked up through the national platform.

A receipt code's first two digits name the province that issued it. A code of another
province than ours (``EREC_PROVINCE_CODE``) is never in our database: the national platform
(``zhongtai.national.client.receipt_lookup``) holds every province's receipts and answers
for them. This module turns its answer into the same answer a receipt of ours gets (page and
API), with what differs said plainly:

* the verdict is the national platform's (``genuine``): we hold neither the other
  province's root certificate nor its revocations, so we do not verify the signatures
  ourselves; we do check that the data file it returned names the same receipt;
* the verification count is the national platform's business: we count nothing and show none;
* the ledger of entries lives in the issuing province: we show whether it says 已报销, never
  amounts claimed, and refuse entries (``ENTRY_FOREIGN_RECEIPT``);
* the data file (XML) is the one the national platform returned; there is no layout file
  (PDF) here.

A found answer is cached for :data:`FOREIGN_CACHE_SECONDS` under a key made from every element
asked with (so only someone holding them reaches it), which also serves the page's download
link right after the answer. "Not found" is never cached.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache

from issuance.datafile import DataFileError, datafile_parse
from issuance.states import ReceiptStatus
from verification.errors import VerificationError
from verification.provinces import PROVINCES, province_name
from verification.selectors import ZERO, CheckLine, EntriesSummary, ReceiptVerdict, status_labels_for
from zhongtai.core.errors import ApplicationError
from zhongtai.core.money import amount_in_capitals
from zhongtai.national.client import ForeignReceipt, NationalUnavailable, lookup_query, receipt_lookup

logger = logging.getLogger(__name__)

# A found answer is reused this long: the page's XML link right after it, a reload, the same
# receipt checked twice by a party. Short, because the other province may red-offset it.
FOREIGN_CACHE_SECONDS = 60
NATIONAL_UNAVAILABLE_MESSAGE = "全国平台暂时无法访问，请稍后再试。"

# The national platform's status words and ours (issuance.states.ReceiptStatus).
_STATUS_OF = {"red_offset": ReceiptStatus.RED_OFFSET, "paper_converted": ReceiptStatus.PAPER_CONVERTED}


def is_foreign(receipt_code: str) -> bool:
    """Whether the receipt code belongs to another province than ours."""
    return receipt_code[:2] != settings.EREC_PROVINCE_CODE


def national_unavailable() -> ApplicationError:
    return ApplicationError(VerificationError.NATIONAL_UNAVAILABLE, NATIONAL_UNAVAILABLE_MESSAGE, status=503)


def entry_foreign_refused(receipt_code: str) -> ApplicationError:
    name = province_name(receipt_code) or "其他省份"
    return ApplicationError(
        VerificationError.ENTRY_FOREIGN_RECEIPT,
        f"该票据由{name}开具，其报销/入账台账由开票地省级平台管理，本平台不能登记报销或入账。",
        {"province": receipt_code[:2], "provinceName": name},
        status=422,
    )


# --- the lookup ---------------------------------------------------------------------------------


def _cache_key(receipt_code: str, number: int, query: dict[str, str]) -> str:
    # Every element asked with, normalised as the national platform is asked (lookup_query).
    elements = [query["checkCode"], query.get("issueDate", ""), query.get("totalAmount", "")]
    basis = "|".join([receipt_code, str(number), *elements])
    return "verify:foreign:" + hashlib.sha256(basis.encode()).hexdigest()


def _to_cache(found: ForeignReceipt) -> dict[str, Any]:
    values = dataclasses.asdict(found)
    values["datafile"] = base64.b64encode(found.datafile).decode()
    return values


def _from_cache(values: Any) -> ForeignReceipt | None:
    if not isinstance(values, dict):
        return None
    try:
        return ForeignReceipt(
            **{**values, "statuses": tuple(values["statuses"]), "datafile": base64.b64decode(values["datafile"])}
        )
    except (KeyError, TypeError, ValueError):
        return None


def foreign_receipt_find(
    *,
    receipt_code: str,
    number: int,
    check_code: str,
    issue_date: datetime.date | None = None,
    total_amount: Decimal | None = None,
) -> ForeignReceipt | None:
    """The receipt of another province with these elements, from the national platform; None = 查无此票.

    A code whose first two digits name no province is 查无此票 without asking. Raises
    :class:`ApplicationError` ``NATIONAL_UNAVAILABLE`` (503) when the national platform gives
    no usable answer (not configured, timeout, connection, 5xx, an answer out of contract).
    """
    if not province_name(receipt_code) or number < 1:
        return None
    check_code = check_code.strip().lower()  # hex, as every province writes it; typed in either case
    query = lookup_query(check_code=check_code, issue_date=issue_date, total_amount=total_amount)
    key = _cache_key(receipt_code, number, query)
    cached = _from_cache(cache.get(key))
    if cached is not None:
        return cached
    try:
        found = receipt_lookup(
            receipt_code=receipt_code,
            number=number,
            check_code=check_code,
            issue_date=issue_date,
            total_amount=total_amount,
        )
    except NationalUnavailable as exc:
        # The user is told to try later; operators see why (the client's code and message).
        logger.warning("cross-province lookup of %s/%s failed: %s %s", receipt_code, number, exc.code, exc)
        raise national_unavailable() from None
    if found is not None:
        cache.set(key, _to_cache(found), timeout=FOREIGN_CACHE_SECONDS)
    return found


# --- the answer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForeignKind:
    code: str
    name: str


@dataclass(frozen=True)
class ForeignUnit:
    code: str
    name: str
    credit_code: str


@dataclass(frozen=True)
class ForeignReceiptView:
    """A foreign receipt with the attribute names of :class:`issuance.models.Receipt` the answers read."""

    receipt_code: str
    number: int
    check_code: str
    kind: ForeignKind
    issue_date: datetime.date
    total_amount: Decimal
    unit: ForeignUnit
    payer_name: str
    payer_type: int
    is_red: bool
    status: str

    @property
    def number_text(self) -> str:
        return f"{self.number:010d}"

    @property
    def total_amount_upper(self) -> str:
        return amount_in_capitals(self.total_amount)


@dataclass(frozen=True)
class ForeignAnswer:
    """What a verification of another province's receipt answers (the shape of ``ReceiptAnswer``)."""

    receipt: ForeignReceiptView
    verdict: ReceiptVerdict
    status_labels: tuple[str, ...]
    entries: EntriesSummary
    province: str
    checked_at: datetime.datetime
    verification_count: int | None = None  # counted by the national platform, not here
    source: str = "national"

    @property
    def status_label(self) -> str:
        return "、".join(self.status_labels)

    @property
    def province_name(self) -> str:
        return PROVINCES.get(self.province, "")


NATIONAL_CHECK = "national_platform"
NATIONAL_CHECK_TITLE = "全国财政电子票据平台核验"


def _verdict(found: ForeignReceipt, parsed: Any) -> ReceiptVerdict:
    """The national platform's verdict, unless the data file it sent names another receipt."""
    same = parsed is not None and (
        parsed.receipt_code,
        parsed.number,
        parsed.check_code.lower(),
        parsed.total_amount,
        parsed.issue_date,
    ) == (found.receipt_code, found.number, found.check_code.lower(), found.total_amount, found.issue_date)
    if not same:
        return _national_verdict(False, "DATAFILE_MISMATCH", "全国平台返回的数据文件与查验结果不一致，无法确认该票据。")
    if not found.genuine:
        return _national_verdict(False, "NOT_GENUINE", "全国财政电子票据平台核验未通过：该票据的签名或证书无效。")
    return _national_verdict(True, "OK", "")


def _national_verdict(genuine: bool, code: str, reason: str) -> ReceiptVerdict:
    return ReceiptVerdict(genuine, (CheckLine(NATIONAL_CHECK, NATIONAL_CHECK_TITLE, genuine, code),), reason)


def foreign_answer_get(*, found: ForeignReceipt) -> ForeignAnswer:
    """The answer to a verification of ``found`` (another province's receipt)."""
    try:
        parsed = datafile_parse(found.datafile)
    except DataFileError:
        parsed = None
    status = ReceiptStatus.ISSUED
    for word in ("red_offset", "paper_converted"):
        if word in found.statuses or found.status == word:
            status = _STATUS_OF[word]
            break
    reimbursed = "reimbursed" in found.statuses or found.status == "reimbursed"
    total = found.total_amount if found.total_amount > 0 else ZERO
    view = ForeignReceiptView(
        receipt_code=found.receipt_code,
        number=found.number,
        check_code=found.check_code,
        kind=ForeignKind(code=found.kind_code, name=parsed.kind_name if parsed else ""),
        issue_date=found.issue_date,
        total_amount=found.total_amount,
        unit=ForeignUnit(code=found.unit_code, name=found.unit_name, credit_code=parsed.unit.code if parsed else ""),
        payer_name=parsed.payer.name if parsed else "",
        payer_type=parsed.payer.type if parsed else 1,
        is_red=found.is_red,
        status=status.value,
    )
    return ForeignAnswer(
        receipt=view,
        verdict=_verdict(found, parsed),
        status_labels=tuple(status_labels_for(status=status.value, reimbursed=reimbursed)),
        # The issuing province keeps the ledger: whether it is reimbursed, never how much.
        entries=EntriesSummary(total, None, None, (), reimbursed_flag=reimbursed),
        province=found.receipt_code[:2],
        checked_at=found.checked_at,
    )
