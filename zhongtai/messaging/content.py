"""What a payer receives: the SMS text, the email's subject and body, and the PDF attachment."""

from __future__ import annotations

from dataclasses import dataclass

from issuance.layout.verify_url import verify_url
from issuance.models import Receipt
from zhongtai.messaging.models import OutgoingMessage


class AttachmentPending(Exception):
    """The receipt's layout file is not there yet (and could not be rendered now): try again later."""


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    mimetype: str


def receipt_verify_url(receipt: Receipt) -> str:
    """The public verification link, the same one the layout file's QR code opens."""
    return verify_url(
        receipt_code=receipt.receipt_code,
        number=receipt.number,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        amount=receipt.total_amount,
    )


def _facts(receipt: Receipt) -> str:
    return (
        f"票据代码{receipt.receipt_code}，票据号码{receipt.number_text}，"
        f"金额{receipt.total_amount:.2f}元{'（红字）' if receipt.is_red else ''}"
    )


def receipt_sms_text(receipt: Receipt) -> str:
    """Unit, kind, code, number, total and the verification link, in one short text."""
    return (
        f"{receipt.unit.name}为您开具了{receipt.kind.name}：{_facts(receipt)}。"
        f"查验及下载：{receipt_verify_url(receipt)}"
    )


def receipt_email_subject(receipt: Receipt) -> str:
    return f"【财政电子票据】{receipt.unit.name}开具的{receipt.kind.name}（{receipt}）"


def receipt_email_body(receipt: Receipt) -> str:
    return (
        f"{receipt.payer_name}：\n\n"
        f"{receipt.unit.name}为您开具了{receipt.kind.name}：{_facts(receipt)}，"
        f"开票日期{receipt.issue_date:%Y年%m月%d日}。\n\n"
        "附件为票据的版式文件（PDF），其中嵌有经单位签名和财政监制签名的数据文件，可用于报销入账。\n"
        f"查验票据真伪：{receipt_verify_url(receipt)}\n\n"
        "本邮件由财政电子票据管理系统自动发送，请勿直接回复。\n"
    )


def receipt_attachment_name(receipt: Receipt) -> str:
    return f"{receipt.receipt_code}-{receipt.number_text}.pdf"


def message_attachments(message: OutgoingMessage) -> list[Attachment]:
    """The files a message carries: the receipt's layout file when the message names one.

    A layout file that no worker rendered yet is rendered here, by the same idempotent
    step a download runs (issuance/file_apis.py).
    """
    if not message.attachment_name or message.receipt_id is None:
        return []
    from issuance.jobs import receipt_step_run_now
    from issuance.models import ReceiptJob

    receipt = Receipt.objects.get(pk=message.receipt_id)
    if not receipt.layout_file:
        receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.RENDER)
        receipt.refresh_from_db(fields=["layout_file"])
    if not receipt.layout_file:
        raise AttachmentPending("版式文件尚未生成。")
    with receipt.layout_file.open("rb") as handle:
        content = handle.read()
    return [Attachment(name=message.attachment_name, content=content, mimetype="application/pdf")]
