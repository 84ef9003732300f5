"""Encryption of secrets at rest with the platform's key-encryption key (EREC_KEK)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    # Any KEK string works: it is stretched to the 32 bytes Fernet needs.
    key = hashlib.sha256(("erec-kek-v1:" + settings.EREC_KEK).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("stored secret cannot be decrypted: wrong EREC_KEK?") from exc
