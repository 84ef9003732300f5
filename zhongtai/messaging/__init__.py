"""Messages to payers (消息发送): a receipt sent by SMS or email, through an outbox drained by Celery."""
