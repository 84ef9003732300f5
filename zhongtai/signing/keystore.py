"""Private keys at rest: AES-256-GCM under a key derived from the platform KEK (``EREC_KEK``).

The KEK comes from the environment (``EREC_KEK``) or a secret file
(``EREC_KEK_FILE``, see ``config/env.py``); production refuses to start without
it. It never reaches the database. What the database holds for a hosted key is
a sealed blob::

    sm2k1$<kek id>$<base64url(nonce 12 bytes || ciphertext || tag 16 bytes)>

* the plaintext is the PKCS#8 DER of the SM2 key;
* the key-encryption key is HKDF-SHA256(EREC_KEK) with a purpose label, so it is
  never the same key that protects API secrets (``zhongtai.gateway.crypto``);
* the additional authenticated data is the key's own SubjectPublicKeyInfo, so a
  blob copied onto another certificate's row does not open;
* the KEK id (8 hex digits derived from the KEK) names which KEK sealed the blob,
  so a wrong or rotated KEK is reported as such instead of as corruption.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from zhongtai.signing import sm2

_FORMAT = "sm2k1"
_AAD_PREFIX = b"erec-sm2-private-key-v1|"


class KeystoreError(RuntimeError):
    """A sealed key cannot be opened: wrong KEK, or a damaged or misplaced blob."""


@functools.lru_cache(maxsize=4)
def _derive(kek: str) -> tuple[bytes, str]:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"erec-signing-keystore",
        info=b"sm2-private-key-encryption-v1",
    ).derive(kek.encode("utf-8"))
    kek_id = hmac.new(key, b"kek-id", hashlib.sha256).hexdigest()[:8]
    return key, kek_id


def kek_id() -> str:
    """Identifier of the KEK in use (not secret; shown in blobs and the admin)."""
    return _derive(settings.EREC_KEK)[1]


def private_key_seal(key: sm2.PrivateKey) -> str:
    """Seal a private key for storage; the result contains no key material in clear."""
    data_key, current_kek_id = _derive(settings.EREC_KEK)
    aad = _AAD_PREFIX + sm2.public_key_to_der(sm2.public_key_of(key))
    nonce = os.urandom(12)
    sealed = AESGCM(data_key).encrypt(nonce, sm2.private_key_to_der(key), aad)
    token = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{_FORMAT}${current_kek_id}${token}"


def private_key_unseal(blob: str, *, public_key_der: bytes) -> sm2.PrivateKey:
    """Open a sealed key that must belong to ``public_key_der``; KeystoreError otherwise."""
    try:
        kind, blob_kek_id, token = blob.split("$")
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeystoreError("sealed private key is damaged") from exc
    if kind != _FORMAT or len(raw) < 12 + 16:
        raise KeystoreError("sealed private key has an unknown format")
    data_key, current_kek_id = _derive(settings.EREC_KEK)
    if blob_kek_id != current_kek_id:
        raise KeystoreError(
            f"private key was sealed under KEK {blob_kek_id}, the configured EREC_KEK is {current_kek_id}"
        )
    try:
        plain = AESGCM(data_key).decrypt(raw[:12], raw[12:], _AAD_PREFIX + bytes(public_key_der))
    except InvalidTag as exc:
        raise KeystoreError("sealed private key does not open: damaged, or not the key of this certificate") from exc
    key = sm2.private_key_from_der(plain)
    if sm2.public_key_to_der(sm2.public_key_of(key)) != bytes(public_key_der):
        raise KeystoreError("sealed private key does not match its public key")
    return key
