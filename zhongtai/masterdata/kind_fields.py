"""Kind-specific data elements (票据种类专属字段) a receipt kind may require.

A receipt kind lists, in ``ReceiptKind.required_fields``, which of these its
receipts must carry. ``payer.*`` entries make payer data mandatory for the kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["text", "date", "money", "int"]


@dataclass(frozen=True)
class KindField:
    name: str
    label: str
    type: FieldType
    max_length: int = 100


KIND_FIELDS: dict[str, KindField] = {
    f.name: f
    for f in (
        KindField("medicalInstitutionType", "医疗机构类型", "text", 40),
        KindField("medicalInsuranceType", "医保类型", "text", 40),
        KindField("medicalInsuranceNumber", "医保编号", "text", 40),
        KindField("visitNumber", "就诊号/住院号", "text", 40),
        KindField("department", "科室", "text", 60),
        KindField("patientNumber", "病历号", "text", 40),
        KindField("visitDate", "就诊日期", "date"),
        KindField("admissionDate", "入院日期", "date"),
        KindField("dischargeDate", "出院日期", "date"),
        KindField("hospitalDays", "住院天数", "int"),
        KindField("fundPay", "医保统筹基金支付", "money"),
        KindField("otherFundPay", "其他医保支付", "money"),
        KindField("personalAccountPay", "个人账户支付", "money"),
        KindField("personalCashPay", "个人现金支付", "money"),
        KindField("selfPay", "个人自付", "money"),
        KindField("selfExpense", "个人自费", "money"),
        KindField("donationPurpose", "捐赠用途", "text", 200),
        KindField("caseNumber", "案号", "text", 60),
        KindField("studentNumber", "学号", "text", 40),
        KindField("schoolTerm", "学期", "text", 40),
        KindField("decisionNumber", "处罚决定书文号", "text", 80),
        KindField("houseAddress", "房屋坐落", "text", 200),
        KindField("membershipPeriod", "会费所属期", "text", 40),
    )
}

PAYER_FIELDS = {
    "payer.code": "交款人证件号码/统一社会信用代码",
    "payer.phone": "交款人手机号码",
    "payer.email": "交款人电子邮箱",
    "payer.account": "交款人账号",
    "payer.bank": "交款人开户银行",
}

# The medical payment split: these four add up to the receipt total when any is given.
MEDICAL_SPLIT_FIELDS = ("fundPay", "otherFundPay", "personalAccountPay", "personalCashPay")


def requirable_field_names() -> set[str]:
    return set(KIND_FIELDS) | set(PAYER_FIELDS)
