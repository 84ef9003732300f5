"""Demo reimbursing parties, their published demo credentials, and a few entries on demo receipts.

Called once by ``manage.py load_demo`` (idempotent: what exists is kept, what is missing is
added); ``manage.py demo_logins`` prints the credentials through :func:`verification_demo_logins`.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.states import ReceiptStatus
from verification.models import PartyCredential, ReceiptEntry, ReimbursingParty
from verification.services import entry_record, party_create, party_credential_create
from zhongtai.audit.services import Actor
from zhongtai.core.money import round_to_fen
from zhongtai.masterdata.validators import credit_code_check_char

ACTOR = Actor.system("load_demo")
DEMO_LABEL = "演示凭证（仅供演示，勿用于生产）"
DEMO_REFERENCE_PREFIX = "DEMO-"
MEDICAL_KINDS = ("0601", "0602")
NONTAX_KIND = "0101"


def _credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


@dataclass(frozen=True)
class DemoParty:
    name: str
    party_type: str
    credit_code: str
    contact_person: str
    contact_phone: str
    app_id: str
    secret: str


DEMO_EMPLOYER = DemoParty(
    "长沙市某单位财务处",
    ReimbursingParty.PartyType.EMPLOYER,
    _credit_code("11430100MB1A2C3D4"),
    "周会计",
    "0731-84000001",
    "pk_demo_cs_finance",
    "demo-secret-cs-finance-2026",
)
DEMO_MEDICAL_INSURANCE = DemoParty(
    "湖南省医疗保障局",
    ReimbursingParty.PartyType.MEDICAL_INSURANCE,
    _credit_code("11430000MB1E6F7H8"),
    "医保结算科",
    "0731-84000002",
    "pk_demo_hn_medical_insurance",
    "demo-secret-hn-medical-insurance-2026",
)
DEMO_INSURER = DemoParty(
    "中国人寿湖南分公司",
    ReimbursingParty.PartyType.COMMERCIAL_INSURANCE,
    _credit_code("91430000MA4J9K1L2"),
    "理赔中心",
    "95519",
    "pk_demo_chinalife_hunan",
    "demo-secret-chinalife-hunan-2026",
)
DEMO_PARTIES = (DEMO_EMPLOYER, DEMO_MEDICAL_INSURANCE, DEMO_INSURER)


def _party_ensure(spec: DemoParty, created: Counter[str]) -> ReimbursingParty:
    party = ReimbursingParty.objects.filter(credit_code=spec.credit_code).first()
    if party is None:
        party = party_create(
            name=spec.name,
            party_type=spec.party_type,
            credit_code=spec.credit_code,
            contact_person=spec.contact_person,
            contact_phone=spec.contact_phone,
            actor=ACTOR,
        )
        created["party"] += 1
    if not PartyCredential.objects.filter(app_id=spec.app_id).exists():
        party_credential_create(party=party, actor=ACTOR, label=DEMO_LABEL, app_id=spec.app_id, secret=spec.secret)
        created["party_credential"] += 1
    return party


def _enterable(kinds: tuple[str, ...]) -> QuerySet[Receipt]:
    return Receipt.objects.filter(
        source=Receipt.Source.DEMO,
        sandbox=False,
        is_red=False,
        status=ReceiptStatus.ISSUED,
        sign_status=SignStatus.SIGNED,
        kind__code__in=kinds,
        total_amount__gte=Decimal("10.00"),
    ).order_by("id")


def _entry_date(receipt: Receipt) -> datetime.date:
    return min(receipt.issue_date + datetime.timedelta(days=3), timezone.localdate())


def _enter(
    party: ReimbursingParty, receipt: Receipt, amount: Decimal, kind: str, reference: str, created: Counter[str]
) -> None:
    entry_record(
        party=party,
        receipt=receipt,
        kind=kind,
        amount=amount,
        entry_date=_entry_date(receipt),
        reference=DEMO_REFERENCE_PREFIX + reference,
        actor=Actor.api_client(party.credentials.order_by("pk").values_list("app_id", flat=True).first() or "demo"),
    )
    created["party_entry"] += 1


def _entries_load(parties: dict[str, ReimbursingParty], created: Counter[str]) -> None:
    """A receipt claimed in two parts (医保 then 商保), one booked by an employer, one paid by an insurer."""
    if ReceiptEntry.objects.filter(reference__startswith=DEMO_REFERENCE_PREFIX).exists():
        return
    medical = list(_enterable(MEDICAL_KINDS)[:2])
    nontax = _enterable((NONTAX_KIND,)).first()
    insurance = parties[DEMO_MEDICAL_INSURANCE.app_id]
    insurer = parties[DEMO_INSURER.app_id]
    if medical:
        split = medical[0]
        first = round_to_fen(split.total_amount * Decimal("0.6"))
        second = round_to_fen(split.total_amount * Decimal("0.25"))
        _enter(insurance, split, first, ReceiptEntry.Kind.REIMBURSEMENT, "YB-0001", created)
        _enter(insurer, split, second, ReceiptEntry.Kind.REIMBURSEMENT, "LP-0001", created)
    if len(medical) > 1:
        _enter(insurer, medical[1], medical[1].total_amount, ReceiptEntry.Kind.REIMBURSEMENT, "LP-0002", created)
    if nontax is not None:
        employer = parties[DEMO_EMPLOYER.app_id]
        _enter(employer, nontax, nontax.total_amount, ReceiptEntry.Kind.BOOK_ENTRY, "PZ-0001", created)


def verification_demo_load() -> Counter[str]:
    """The demo parties, their demo credentials and a few demo entries; what was created, by kind."""
    created: Counter[str] = Counter()
    parties = {spec.app_id: _party_ensure(spec, created) for spec in DEMO_PARTIES}
    _entries_load(parties, created)
    return created


def verification_demo_logins(base_url: str) -> list[str]:
    """Lines for ``manage.py demo_logins``: the public page and the parties' demo credentials."""
    present = set(
        PartyCredential.objects.filter(
            app_id__in=[spec.app_id for spec in DEMO_PARTIES], status=PartyCredential.Status.ACTIVE
        ).values_list("app_id", flat=True)
    )
    lines = [
        "",
        f"公众查验 Public verification   {base_url}/verify/（无需登录 no login）",
        "报销/入账单位演示凭证 Reimbursing parties' demo credentials（仅供演示 demo only）",
    ]
    for spec in DEMO_PARTIES:
        note = "" if spec.app_id in present else "  ← 尚未创建，请先运行 manage.py load_demo（not loaded yet）"
        label = ReimbursingParty.PartyType(spec.party_type).label
        lines.append(f"  {spec.name}（{label}）{note}")
        lines.append(f"    AppId  {spec.app_id}")
        lines.append(f"    Secret {spec.secret}")
    lines.append(f"  接口地址 API   {base_url}/api/v1/public/  例如 e.g. GET /api/v1/public/entries")
    return lines
