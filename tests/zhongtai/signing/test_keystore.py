"""Private keys at rest: sealed under the KEK, bound to their public key, never in clear."""

from __future__ import annotations

import base64

import pytest
from django.test import override_settings

from zhongtai.signing import keystore, sm2
from zhongtai.signing.models import Certificate


def test_seal_and_unseal_round_trip() -> None:
    key = sm2.generate_private_key()
    public_der = sm2.public_key_to_der(sm2.public_key_of(key))
    blob = keystore.private_key_seal(key)
    assert blob.startswith(f"sm2k1${keystore.kek_id()}$")
    opened = keystore.private_key_unseal(blob, public_key_der=public_der)
    assert sm2.private_key_to_der(opened) == sm2.private_key_to_der(key)


def test_sealed_blob_contains_no_key_material() -> None:
    key = sm2.generate_private_key()
    blob = keystore.private_key_seal(key)
    raw = base64.urlsafe_b64decode(blob.split("$")[2])
    pkcs8 = sm2.private_key_to_der(key)
    scalar = _scalar(pkcs8)
    assert pkcs8 not in raw and scalar not in raw
    assert pkcs8.hex() not in blob and base64.b64encode(pkcs8).decode() not in blob


def _scalar(pkcs8: bytes) -> bytes:
    from asn1crypto import keys

    return keys.PrivateKeyInfo.load(pkcs8)["private_key"].parsed["private_key"].contents


def test_a_wrong_kek_is_reported_as_such() -> None:
    key = sm2.generate_private_key()
    blob = keystore.private_key_seal(key)
    with override_settings(EREC_KEK="another-kek"), pytest.raises(keystore.KeystoreError, match="sealed under KEK"):
        keystore.private_key_unseal(blob, public_key_der=sm2.public_key_to_der(sm2.public_key_of(key)))


def test_a_blob_moved_to_another_public_key_does_not_open() -> None:
    key, other = sm2.generate_private_key(), sm2.generate_private_key()
    blob = keystore.private_key_seal(key)
    with pytest.raises(keystore.KeystoreError):
        keystore.private_key_unseal(blob, public_key_der=sm2.public_key_to_der(sm2.public_key_of(other)))


@pytest.mark.parametrize("damage", ["", "sm2k1$x", "other$aaaa$bbbb", "sm2k1$00000000$!!!"])
def test_damaged_blobs_raise_keystore_error(damage: str) -> None:
    key = sm2.generate_private_key()
    with pytest.raises(keystore.KeystoreError):
        keystore.private_key_unseal(damage, public_key_der=sm2.public_key_to_der(sm2.public_key_of(key)))


def test_flipped_ciphertext_bit_is_detected() -> None:
    key = sm2.generate_private_key()
    kind, kek, token = keystore.private_key_seal(key).split("$")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[20] ^= 1
    damaged = f"{kind}${kek}${base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(keystore.KeystoreError):
        keystore.private_key_unseal(damaged, public_key_der=sm2.public_key_to_der(sm2.public_key_of(key)))


def test_stored_certificates_hold_only_sealed_keys(
    unit_certificate: Certificate, seal_certificate: Certificate
) -> None:
    # every hosted key in the database (CAs included) is a sealed blob, never PKCS#8
    for certificate in Certificate.objects.all():
        blob = certificate.private_key_sealed
        assert blob.startswith("sm2k1$")
        assert b"\x30\x81\x87\x02\x01\x00" not in blob.encode()  # the PKCS#8 header of an SM2 key
        assert "MIGHAgEA" not in blob  # ...and its base64
        key = keystore.private_key_unseal(blob, public_key_der=bytes(certificate.public_key_der))
        pkcs8 = sm2.private_key_to_der(key)
        assert pkcs8 not in base64.urlsafe_b64decode(blob.split("$")[2])
