"""Email through Django's mail: the receipt's PDF attached, the verification link, the sender from settings."""

from __future__ import annotations

import socket
from typing import Any

from django.core import mail

from issuance.layout import pdf_extract_xml
from issuance.models import Receipt, ReceiptJob
from tests.zhongtai.messaging.conftest import EMAIL
from zhongtai.messaging.content import receipt_verify_url
from zhongtai.messaging.models import MessageStatus


def test_the_email_carries_the_pdf_the_link_and_a_short_chinese_text(
    signed_receipt: Receipt, send: Any, settings: Any
) -> None:
    # given the sender configured for the province (the test outbox is Django's locmem backend)
    settings.EREC_MAIL_FROM = "湖南省财政电子票据 <noreply@erec.example.gov.cn>"
    # when the receipt is sent by email
    message = send(receipt=signed_receipt, channel="email", recipient=EMAIL)
    # then one email left, to the payer, from the configured sender
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [EMAIL]
    assert email.from_email == "湖南省财政电子票据 <noreply@erec.example.gov.cn>"
    assert email.subject == f"【财政电子票据】长沙市芙蓉区不动产登记中心开具的非税收入统一票据（{signed_receipt}）"
    # and its text greets the payer, names the receipt and gives the verification link
    assert email.body.startswith("张三：")
    for fact in (
        signed_receipt.receipt_code,
        signed_receipt.number_text,
        "55.50元",
        receipt_verify_url(signed_receipt),
    ):
        assert fact in email.body, fact
    # and it carries the layout file: the same PDF, with the signed data file inside
    [(name, content, mimetype)] = email.attachments
    assert name == f"{signed_receipt.receipt_code}-{signed_receipt.number_text}.pdf"
    assert mimetype == "application/pdf"
    assert content == signed_receipt.layout_file.open("rb").read()
    assert pdf_extract_xml(content) == signed_receipt.datafile.open("rb").read()
    # and the message id is ours, stable across retries, and recorded
    assert email.extra_headers["Message-ID"] == f"<{message.key.hex}@erec.example.gov.cn>"
    assert message.provider_message_id == email.extra_headers["Message-ID"]
    # and the log says the locmem backend only recorded it
    assert (message.status, message.provider, message.log_only) == (MessageStatus.SENT, "email-locmem", True)
    assert message.provider_label == "仅记录（未配置邮件服务器）"
    assert message.attachment_name == name


def test_a_layout_file_not_rendered_yet_is_rendered_for_the_email(signed_receipt: Receipt, send: Any) -> None:
    # given a signed receipt whose render job has not run yet
    Receipt.objects.filter(pk=signed_receipt.pk).update(layout_file="")
    ReceiptJob.objects.filter(receipt=signed_receipt, step=ReceiptJob.Step.RENDER).update(
        state=ReceiptJob.State.PENDING
    )
    # when it is sent by email / then the layout file is rendered and attached
    message = send(receipt=signed_receipt, channel="email", recipient=EMAIL)
    assert message.status == MessageStatus.SENT
    signed_receipt.refresh_from_db()
    assert signed_receipt.layout_file
    assert mail.outbox[0].attachments[0][1] == signed_receipt.layout_file.open("rb").read()


def test_a_layout_file_that_cannot_be_had_now_is_waited_for(signed_receipt: Receipt, send: Any) -> None:
    # given a receipt whose render job a worker holds right now
    Receipt.objects.filter(pk=signed_receipt.pk).update(layout_file="")
    ReceiptJob.objects.filter(receipt=signed_receipt, step=ReceiptJob.Step.RENDER).update(
        state=ReceiptJob.State.RUNNING
    )
    # then the email is not sent without its PDF: it waits in the queue
    message = send(receipt=signed_receipt, channel="email", recipient=EMAIL)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert "版式文件尚未生成" in message.last_error
    assert mail.outbox == []


def test_an_unreachable_mail_server_is_a_transient_failure(signed_receipt: Receipt, send: Any, settings: Any) -> None:
    # given the SMTP backend pointed at a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    # when the receipt is sent by email / then it waits for a retry
    message = send(receipt=signed_receipt, channel="email", recipient=EMAIL)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert message.last_error.startswith("邮件服务器暂时不可用")
