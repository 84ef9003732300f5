"""SM2 signatures with SM3 (GB/T 32918, GB/T 32905): the platform's one door to the SM2 library.

This is the only module that imports ``tongsuopy``. Callers see two opaque key
types and a handful of functions, so the library can be replaced (for another
Python binding, or an HSM client) without touching them.

Conventions, fixed for the whole platform:

* Signatures are SM2 over SM3(Z || message), where Z is computed with the signer
  ID :data:`DEFAULT_SIGNER_ID` (``1234567812345678``, the default of GM/T 0009
  and of OpenSSL/Tongsuo). The test suite proves that tongsuopy uses this ID by
  checking its signatures with the independent ``gmssl`` implementation, which
  hard-codes it, in both directions.
* Signatures are DER: ``SEQUENCE { r INTEGER, s INTEGER }``.
* Private keys are PKCS#8 ``PrivateKeyInfo`` (unencrypted here: encryption at
  rest belongs to :mod:`zhongtai.signing.keystore`); public keys are X.509
  ``SubjectPublicKeyInfo`` with ``id-ecPublicKey`` and the SM2 curve
  (1.2.156.10197.1.301).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

DEFAULT_SIGNER_ID: Final = b"1234567812345678"
SIGNATURE_ALGORITHM: Final = "SM2-with-SM3"
SIGNATURE_OID: Final = "1.2.156.10197.1.501"
CURVE_OID: Final = "1.2.156.10197.1.301"

__all__ = [
    "CURVE_OID",
    "DEFAULT_SIGNER_ID",
    "SIGNATURE_ALGORITHM",
    "SIGNATURE_OID",
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "private_key_from_der",
    "private_key_from_pem",
    "private_key_to_der",
    "private_key_to_pem",
    "public_key_from_der",
    "public_key_from_pem",
    "public_key_from_point",
    "public_key_of",
    "public_key_to_der",
    "public_key_to_pem",
    "public_key_to_point",
    "sign",
    "sm3",
    "verify",
]

# The curve order n, to refuse out-of-range r/s before the library sees them.
_ORDER: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


def _algorithm() -> ec.ECDSA:
    # tongsuopy names the SM2 signature scheme through its ECDSA wrapper; with an
    # SM2 key and SM3 the backend runs the SM2 scheme, Z value included.
    return ec.ECDSA(hashes.SM3())


class PrivateKey:
    """An SM2 private key. Opaque: use the functions of this module on it."""

    __slots__ = ("_key",)

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SM2):
            raise ValueError("not an SM2 private key")
        self._key = key

    def __repr__(self) -> str:
        # Never show key material, not even in tracebacks.
        return "<sm2.PrivateKey>"


class PublicKey:
    """An SM2 public key. Opaque; two keys are equal when they are the same point."""

    __slots__ = ("_key",)

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(key.curve, ec.SM2):
            raise ValueError("not an SM2 public key")
        self._key = key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return public_key_to_point(self) == public_key_to_point(other)

    def __hash__(self) -> int:
        return hash(public_key_to_point(self))

    def __repr__(self) -> str:
        return f"<sm2.PublicKey {public_key_to_point(self)[1:9].hex()}...>"


def generate_private_key() -> PrivateKey:
    return PrivateKey(ec.generate_private_key(ec.SM2()))


def public_key_of(key: PrivateKey) -> PublicKey:
    return PublicKey(key._key.public_key())


def sign(key: PrivateKey, data: bytes) -> bytes:
    """DER-encoded SM2 signature of ``data`` (SM3 with Z of :data:`DEFAULT_SIGNER_ID`)."""
    return bytes(key._key.sign(bytes(data), _algorithm()))


def verify(public_key: PublicKey, data: bytes, signature: bytes) -> bool:
    """True only for a valid signature; False for anything else, malformed bytes included."""
    try:
        if not _plausible_der_signature(bytes(signature)):
            return False
        public_key._key.verify(bytes(signature), bytes(data), _algorithm())
    except Exception:  # any failure of the library means "not valid", never an error for the caller
        return False
    return True


def _plausible_der_signature(sig: bytes) -> bool:
    """Strict DER SEQUENCE of two positive INTEGERs below n, nothing trailing.

    The backend parses too, but it reports garbage as an internal error rather
    than as a bad signature; checking the shape first keeps that path rare and
    makes the acceptance rule ours (no BER leniency, no trailing bytes).
    """
    if len(sig) < 8 or len(sig) > 72 or sig[0] != 0x30 or sig[1] != len(sig) - 2:
        return False
    pos = 2
    for _ in range(2):
        if pos + 2 > len(sig) or sig[pos] != 0x02:
            return False
        length = sig[pos + 1]
        body = sig[pos + 2 : pos + 2 + length]
        if length == 0 or length > 33 or len(body) != length:
            return False
        if body[0] & 0x80:
            return False  # negative
        if length > 1 and body[0] == 0 and not body[1] & 0x80:
            return False  # non-minimal encoding
        value = int.from_bytes(body, "big")
        if not 0 < value < _ORDER:
            return False
        pos += 2 + length
    return pos == len(sig)


def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905), 32 bytes."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(bytes(data))
    return bytes(digest.finalize())


# --- serialisation -----------------------------------------------------------


def private_key_to_der(key: PrivateKey) -> bytes:
    """PKCS#8 PrivateKeyInfo, unencrypted."""
    return bytes(
        key._key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def private_key_to_pem(key: PrivateKey) -> bytes:
    return bytes(
        key._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def private_key_from_der(der: bytes) -> PrivateKey:
    """Load an unencrypted PKCS#8 SM2 key; ValueError if it is not one."""
    return PrivateKey(_load(serialization.load_der_private_key, bytes(der), password=None))


def private_key_from_pem(pem: bytes) -> PrivateKey:
    return PrivateKey(_load(serialization.load_pem_private_key, bytes(pem), password=None))


def public_key_to_der(public_key: PublicKey) -> bytes:
    """X.509 SubjectPublicKeyInfo."""
    return bytes(
        public_key._key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def public_key_to_pem(public_key: PublicKey) -> bytes:
    return bytes(
        public_key._key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def public_key_from_der(der: bytes) -> PublicKey:
    """Load a SubjectPublicKeyInfo on the SM2 curve; ValueError if it is not one."""
    return PublicKey(_load(serialization.load_der_public_key, bytes(der)))


def public_key_from_pem(pem: bytes) -> PublicKey:
    return PublicKey(_load(serialization.load_pem_public_key, bytes(pem)))


def public_key_to_point(public_key: PublicKey) -> bytes:
    """The uncompressed point ``04 || x || y`` (65 bytes)."""
    numbers = public_key._key.public_numbers()
    return b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")


def public_key_from_point(point: bytes) -> PublicKey:
    """A public key from its uncompressed point ``04 || x || y``; ValueError if off the curve."""
    point = bytes(point)
    if len(point) != 65 or point[0] != 0x04:
        raise ValueError("SM2 public key point must be 65 bytes, uncompressed (04 || x || y)")
    x = int.from_bytes(point[1:33], "big")
    y = int.from_bytes(point[33:], "big")
    try:
        key = ec.EllipticCurvePublicNumbers(x, y, ec.SM2()).public_key()
    except Exception as exc:  # the library's own error types are not ours
        raise ValueError("point is not on the SM2 curve") from exc
    return PublicKey(key)


def _load(loader: Callable[..., Any], data: bytes, **kwargs: Any) -> Any:
    try:
        key = loader(data, **kwargs)
    except Exception as exc:  # the library raises several unrelated types for bad input
        raise ValueError("not a readable SM2 key") from exc
    if not isinstance(key.curve, ec.SM2):
        raise ValueError("key is not on the SM2 curve")
    return key
