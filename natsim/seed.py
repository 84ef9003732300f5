"""``seed-foreign``: demo receipts of other provinces (Hubei 420000, Guangdong 440000).

For each province a demo CA is created once (root CA, issuing CA, the finance bureau's
supervision seal and a few units' signing certificates; keys and certificates are kept in
``DIR/demo-ca/<code>/``, test material only) and the province is registered with its root. Each
receipt is a real ``EInvoice`` data file, signed by its unit and supervised by the seal with the
repository's own signing code (issuance.datafile.signatures, zhongtai.signing: neither needs
Django), and is stored by offering its events to the simulator exactly as a province's would be
offered: the simulator's own check says it is genuine or the seed fails.

Receipts already stored are left alone, so running it again (``make run`` does, every time)
changes nothing and prints the same list.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from issuance.datafile.signatures import datafile_sign, datafile_supervise
from natsim.service import Simulator
from natsim.store import BEIJING, ProvinceRegistry, Store
from zhongtai.masterdata.validators import credit_code_check_char
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs

LISTING = "foreign-receipts.txt"
RED_NUMBERS = (9001, 9002)
CA_VALID_FROM = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class DemoUnit:
    code: str
    credit17: str
    name: str
    city: str
    area: str  # SupervisorAreaCode: the unit's county or city

    @property
    def credit_code(self) -> str:
        return self.credit17 + credit_code_check_char(self.credit17)


@dataclass(frozen=True)
class DemoProvince:
    code: str
    name: str
    bureau: str
    units: tuple[DemoUnit, ...]


PROVINCES = (
    DemoProvince(
        "420000",
        "湖北省",
        "湖北省财政厅",
        (
            DemoUnit("420102001", "11420102MB1H00017", "武汉市江岸区市场监督管理局", "武汉市", "420102"),
            DemoUnit("420106003", "12420106MB1H00035", "武汉市武昌区人民医院", "武汉市", "420106"),
            DemoUnit("420502002", "11420502MB1H00026", "宜昌市西陵区不动产登记中心", "宜昌市", "420502"),
        ),
    ),
    DemoProvince(
        "440000",
        "广东省",
        "广东省财政厅",
        (
            DemoUnit("440104001", "11440104MB2G00018", "广州市越秀区公安分局交通警察大队", "广州市", "440104"),
            DemoUnit("440305002", "12440305MB2G00024", "深圳市南山区教育考试中心", "深圳市", "440305"),
            DemoUnit("440606003", "11440606MB2G00037", "佛山市顺德区自然资源局", "佛山市", "440606"),
        ),
    ),
)

# (item code, name, unit of measure, standard price); an item's quantity varies per receipt.
FEE_ITEMS = (
    ("F0101", "证照工本费", "本", Decimal("10.00")),
    ("F0102", "考试考务费", "人·科", Decimal("45.50")),
    ("F0103", "不动产登记费", "件", Decimal("80.00")),
    ("F0104", "资料复印费", "页", Decimal("0.50")),
    ("F0105", "挂号诊查费", "次", Decimal("25.00")),
)
PAYERS = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷")


# --- the demo CA ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyAndCertificate:
    key: sm2.PrivateKey
    der: bytes

    @property
    def serial_hex(self) -> str:
        return certs.serial_to_hex(certs.certificate_parse(self.der).serial)

    @property
    def pem(self) -> bytes:
        return certs.der_to_pem(self.der)


class DemoCa:
    """A province's demo PKI, created once and kept as PEM files (test material, never secret)."""

    def __init__(self, folder: Path, province: DemoProvince) -> None:
        self.folder = folder
        self.province = province
        folder.mkdir(parents=True, exist_ok=True)
        self.root = self._load_or_make(
            "root", certs.Profile.ROOT_CA, self._ca_subject("财政电子票据根CA（演示）"), None
        )
        self.issuing = self._load_or_make(
            "issuing", certs.Profile.ISSUING_CA, self._ca_subject("财政电子票据签发CA（演示）"), self.root
        )
        self.seal = self._load_or_make(
            "seal",
            certs.Profile.END_ENTITY,
            [
                ("country_name", "CN"),
                ("state_or_province_name", province.name),
                ("organization_name", province.bureau),
                ("organizational_unit_name", province.code),
                ("common_name", f"{province.bureau}财政票据监制章"),
            ],
            self.issuing,
        )
        self.units = {
            unit.code: self._load_or_make(
                f"unit-{unit.code}",
                certs.Profile.END_ENTITY,
                [
                    ("country_name", "CN"),
                    ("state_or_province_name", province.name),
                    ("locality_name", unit.city),
                    ("organization_name", unit.name),
                    ("organizational_unit_name", unit.code),
                    ("serial_number", unit.credit_code),
                    ("common_name", unit.name),
                ],
                self.issuing,
            )
            for unit in province.units
        }

    def _ca_subject(self, common_name: str) -> list[tuple[str, str]]:
        return [
            ("country_name", "CN"),
            ("state_or_province_name", self.province.name),
            ("organization_name", self.province.bureau),
            ("common_name", f"{self.province.name}{common_name}"),
        ]

    def _load_or_make(
        self,
        name: str,
        profile: certs.Profile,
        subject: list[tuple[str, str]],
        issuer: KeyAndCertificate | None,
    ) -> KeyAndCertificate:
        key_path, cert_path = self.folder / f"{name}.key.pem", self.folder / f"{name}.pem"
        if key_path.exists() and cert_path.exists():
            return KeyAndCertificate(
                sm2.private_key_from_pem(key_path.read_bytes()), certs.pem_to_der(cert_path.read_bytes())
            )
        key = sm2.generate_private_key()
        years = {certs.Profile.ROOT_CA: 20, certs.Profile.ISSUING_CA: 10, certs.Profile.END_ENTITY: 5}[profile]
        der = certs.certificate_build(
            profile=profile,
            serial=certs.random_serial(),
            subject=certs.name_build(subject),
            public_key_der=sm2.public_key_to_der(sm2.public_key_of(key)),
            not_before=CA_VALID_FROM,
            not_after=CA_VALID_FROM.replace(year=CA_VALID_FROM.year + years),
            issuer_key=issuer.key if issuer else key,
            issuer_certificate_der=issuer.der if issuer else None,
        )
        key_path.write_bytes(sm2.private_key_to_pem(key))
        cert_path.write_bytes(certs.der_to_pem(der))
        return KeyAndCertificate(key, der)

    def chain_pem(self, unit_code: str) -> str:
        """What an ``issued`` event carries: the unit's, the seal's and the issuing CA's certificates."""
        return (self.units[unit_code].pem + self.seal.pem + self.issuing.pem).decode("ascii")


# --- the receipts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One demo receipt: what it is and which status events follow its issue."""

    province: DemoProvince
    unit: DemoUnit
    kind_code: str
    kind_name: str
    number: int
    issued_at: datetime.datetime
    items: tuple[tuple[str, str, str, Decimal, Decimal], ...]  # code, name, unit, quantity, price
    payer: str
    related: tuple[str, int] | None = None  # a red receipt's original
    later: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def receipt_code(self) -> str:
        return f"{self.province.code[:2]}{self.kind_code}{self.issued_at.year % 100:02d}"

    @property
    def check_code(self) -> str:
        return hashlib.sha256(f"natsim-demo:{self.receipt_code}:{self.number}".encode()).hexdigest()[:6]

    @property
    def total(self) -> Decimal:
        return sum((_amount(quantity, price) for _, _, _, quantity, price in self.items), Decimal("0.00"))


def _amount(quantity: Decimal, price: Decimal) -> Decimal:
    return (quantity * price).quantize(Decimal("0.01"))


def _quantity_text(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def plans(province: DemoProvince, count: int, today: datetime.date) -> list[Plan]:
    """``count`` receipts of ``province`` over the last weeks: mostly blue, two red, some reimbursed."""
    result: list[Plan] = []
    for index in range(count):
        unit = province.units[index % len(province.units)]
        day = today - datetime.timedelta(days=2 + index * 2)
        moment = datetime.datetime.combine(day, datetime.time(9 + index % 8, (index * 7) % 60, 15), BEIJING)
        first = FEE_ITEMS[index % len(FEE_ITEMS)]
        second = FEE_ITEMS[(index + 2) % len(FEE_ITEMS)]
        items = ((first[0], first[1], first[2], Decimal(1 + index % 3), first[3]),)
        if index % 2:
            items += ((second[0], second[1], second[2], Decimal(2 + index % 4), second[3]),)
        later: tuple[tuple[str, dict[str, Any]], ...] = ()
        party = {
            "partyCode": "91110000100000000" + credit_code_check_char("91110000100000000"),
            "partyName": "中国演示集团有限公司",
        }
        if index in (4, 9):
            later = (("entered", {**party, "entryDate": (day + datetime.timedelta(days=1)).isoformat()}),)
        elif index == 6:
            later = (
                ("entered", {**party, "entryDate": (day + datetime.timedelta(days=1)).isoformat()}),
                ("entry_cancelled", {**party, "entryDate": (day + datetime.timedelta(days=2)).isoformat()}),
            )
        elif index == 7:
            later = (("paper_converted", {"paperNumber": f"{province.code[:2]}ZZ{index + 1:08d}"}),)
        result.append(
            Plan(
                province,
                unit,
                "0101",
                "非税收入统一票据",
                index + 1,
                moment,
                items,
                PAYERS[index % len(PAYERS)],
                None,
                later,
            )
        )
    # Two red receipts, each offsetting an earlier blue one of the same unit (a day later). Their
    # numbers lie apart from the blue ones' so that another --count never gives a number two meanings.
    for red_number, original in ((RED_NUMBERS[0], result[2]), (RED_NUMBERS[1], result[5])):
        red_moment = original.issued_at + datetime.timedelta(days=1)
        red = Plan(
            province,
            original.unit,
            original.kind_code,
            original.kind_name,
            red_number,
            red_moment,
            tuple((code, name, unit, -quantity, price) for code, name, unit, quantity, price in original.items),
            original.payer,
            (original.receipt_code, original.number),
        )
        result.append(red)
        index = result.index(original)
        result[index] = Plan(
            **{**original.__dict__, "later": (("red_offset", {"redCode": red.receipt_code, "redNumber": red.number}),)}
        )
    return result


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def unsigned_xml(plan: Plan) -> bytes:
    """The unsigned EInvoice of docs/signature.md for a demo receipt."""
    root = ET.Element("EInvoice")
    header = _add(root, "Header")
    _add(header, "EInvoiceID", f"{plan.receipt_code}{plan.number:010d}")
    _add(header, "EInvoiceTag", f"CZ-EI-{plan.province.code[:2]}")
    _add(header, "Version", "1.0.0")
    data = _add(root, "EInvoiceData")
    main = _add(data, "Main")
    for tag, text in (
        ("EInvoiceName", plan.kind_name),
        ("EInvoiceCode", plan.receipt_code),
        ("EInvoiceNumber", f"{plan.number:010d}"),
        ("RandomNumber", plan.check_code),
        ("EInvoiceSpecimenCode", f"FS{plan.kind_code}"),
        ("SupervisorAreaCode", plan.unit.area),
        ("TotalAmount", f"{plan.total:.2f}"),
        ("IssueDate", plan.issued_at.strftime("%Y%m%d")),
        ("IssueTime", plan.issued_at.strftime("%H:%M:%S")),
    ):
        _add(main, tag, text)
    party = _add(main, "InvoicingParty")
    _add(party, "InvoicingPartyCode", plan.unit.credit_code)
    _add(party, "InvoicingPartyName", plan.unit.name)
    payer = _add(main, "PayerParty")
    _add(payer, "PayerPartyType", "1")
    _add(payer, "PayerPartyName", plan.payer)
    _add(main, "CurrencyType", "CNY")
    if plan.related:
        _add(main, "Remark", "冲红：业务取消，全额退费")
        ext = _add(main, "MainExt")
        _add(ext, "RelatedInvoiceCode", plan.related[0])
        _add(ext, "RelatedInvoiceNumber", f"{plan.related[1]:010d}")
    details = _add(data, "Details")
    for code, name, unit, quantity, price in plan.items:
        item = _add(details, "Item")
        _add(item, "ItemCode", code)
        _add(item, "ItemName", name)
        _add(item, "ItemQuantity", _quantity_text(quantity))
        _add(item, "ItemUnit", unit)
        _add(item, "ItemStd", f"{price:.2f}")
        _add(item, "ItemAmount", f"{_amount(quantity, price):.2f}")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def signed_xml(plan: Plan, ca: DemoCa) -> bytes:
    unit = ca.units[plan.unit.code]
    signing_time = plan.issued_at + datetime.timedelta(seconds=1)
    xml = datafile_sign(
        unsigned_xml(plan),
        role="unit",
        signer=lambda data: sm2.sign(unit.key, data),
        certificate_serial=unit.serial_hex,
        signing_time=signing_time,
    )
    unit_public = sm2.public_key_of(unit.key)
    return datafile_supervise(
        xml,
        unit_verify=lambda data, signature: sm2.verify(unit_public, data, signature),
        number_is_unique=lambda code, number: True,
        signer=lambda data: sm2.sign(ca.seal.key, data),
        certificate_serial=ca.seal.serial_hex,
        signing_time=signing_time,
    )


def _events(plan: Plan, ca: DemoCa) -> list[dict[str, Any]]:
    content = signed_xml(plan, ca)
    occurred = (plan.issued_at + datetime.timedelta(seconds=1)).isoformat()
    events: list[dict[str, Any]] = [
        {
            "receiptCode": plan.receipt_code,
            "number": plan.number,
            "seq": 1,
            "type": "issued",
            "occurredAt": occurred,
            "data": {
                "issueDate": plan.issued_at.date().isoformat(),
                "totalAmount": f"{plan.total:.2f}",
                "unitCode": plan.unit.credit_code,
                "unitName": plan.unit.name,
                "kindCode": plan.kind_code,
                "checkCode": plan.check_code,
                "isRed": plan.related is not None,
                "relatedCode": plan.related[0] if plan.related else None,
                "relatedNumber": plan.related[1] if plan.related else None,
                "dataFile": base64.b64encode(content).decode("ascii"),
                "dataFileSha256": hashlib.sha256(content).hexdigest(),
                "certificates": ca.chain_pem(plan.unit.code),
            },
        }
    ]
    for seq, (kind, data) in enumerate(plan.later, start=2):
        if kind in ("entered", "entry_cancelled"):
            data = {**data, "amount": f"{plan.total:.2f}"}
        moment = plan.issued_at + datetime.timedelta(days=seq - 1)
        events.append(
            {
                "receiptCode": plan.receipt_code,
                "number": plan.number,
                "seq": seq,
                "type": kind,
                "occurredAt": moment.isoformat(),
                "data": data,
            }
        )
    return events


def seed_foreign(
    *, data_dir: Path, count: int, out: TextIO, today: datetime.date | None = None
) -> list[dict[str, Any]]:
    """Store the demo receipts (those not stored yet), print and write the list; returns it."""
    if not 6 <= count <= 500:
        raise ValueError("count must be between 6 and 500")
    store = Store(data_dir)
    registry = ProvinceRegistry(data_dir)
    simulator = Simulator(store, registry)
    day = today or datetime.datetime.now(BEIJING).date()
    listing: list[dict[str, Any]] = []
    for province in PROVINCES:
        ca = DemoCa(data_dir / "demo-ca" / province.code, province)
        registered = registry.get(province.code)
        if registered is None or registered.root_pem != ca.root.pem:
            # A secret nobody is told: these provinces never call the simulator, they only lend it their root.
            registry.add(code=province.code, secret=secrets.token_hex(32), root_pem=ca.root.pem)
        registered = registry.get(province.code)
        assert registered is not None
        for plan in plans(province, count, day):
            stored = store.receipt_get(plan.receipt_code, plan.number)
            if stored is None:
                for event in _events(plan, ca):
                    result = simulator.event_offer(event, province=registered)
                    if result.status not in ("accepted", "duplicate"):
                        raise RuntimeError(f"demo receipt {plan.receipt_code}/{plan.number} refused: {result}")
                stored = store.receipt_get(plan.receipt_code, plan.number)
                assert stored is not None
            status, _ = simulator.statuses(plan.receipt_code, plan.number)
            listing.append(
                {
                    "province": province.code,
                    "receiptCode": stored["receipt_code"],
                    "number": stored["number"],
                    "checkCode": stored["check_code"],
                    "issueDate": stored["issue_date"],
                    "totalAmount": stored["total_amount"],
                    "unitName": stored["unit_name"],
                    "status": status,
                }
            )
    text = _listing_text(listing)
    (data_dir / LISTING).write_text(text, encoding="utf-8")
    out.write(text)
    out.write(f"（已写入 {data_dir / LISTING}）\n")
    return listing


def _listing_text(listing: list[dict[str, Any]]) -> str:
    names = {province.code: province.name for province in PROVINCES}
    lines = ["外省演示票据（跨省查验用；票据代码 票据号码 校验码 开票日期 金额 状态 开票单位）"]
    for row in listing:
        lines.append(
            f"{names[row['province']]} {row['receiptCode']} {row['number']:010d} {row['checkCode']} "
            f"{row['issueDate']} {row['totalAmount']} {row['status']} {row['unitName']}"
        )
    return "\n".join(lines) + "\n"
