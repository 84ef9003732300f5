"""SM2/SM3 through our interface: published vectors, and cross-checks with the independent gmssl.

Published examples used here:

* GM/T 0003.5-2012 (= GB/T 32918.5-2017) Annex A: signature on the recommended
  curve, signer ID 1234567812345678, message "message digest", with the key, the
  random k, Z_A, e and (r, s) printed in the standard. Also used by OpenSSL's
  test/sm2_internal_test.c (its "GM/T 0003.5-2012, Annex A" case).
* GB/T 32918.2-2016 Annex A (= draft-shen-sm2-ecdsa-02 Appendix A): signature on
  the 256-bit test curve (not the recommended curve), ID "ALICE123@YAHOO.COM".
  tongsuopy only knows the recommended curve, so this one is checked with gmssl
  (with its curve table replaced) and our SM3.
* GB/T 32905-2016 Appendix A: SM3 of "abc" and of "abcd" x 16.

gmssl (pure Python, dev dependency) is the second, independent implementation:
it hard-codes the signer ID 1234567812345678 in its Z computation, so every
interop test below also proves which ID tongsuopy uses by default.
"""

from __future__ import annotations

import pytest
from asn1crypto import keys
from asn1crypto.algos import DSASignature
from gmssl import func
from gmssl import sm2 as gmssl_sm2
from gmssl import sm3 as gmssl_sm3

from zhongtai.signing import sm2
from zhongtai.signing import x509 as _x509  # noqa: F401 - registers the SM2 curve name with asn1crypto

# --- GM/T 0003.5-2012 Annex A (recommended curve) ---------------------------------------------------
ANNEX_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
ANNEX_PUBLIC = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
ANNEX_MESSAGE = b"message digest"
ANNEX_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
ANNEX_ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
ANNEX_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
ANNEX_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
ANNEX_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA

# --- GB/T 32918.2-2016 Annex A (test curve Fp-256) -------------------------------------------------
TEST_CURVE = {
    "p": "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3",
    "a": "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498",
    "b": "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A",
    "g": "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D"
    "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2",
    "n": "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7",
}
TEST_ID = b"ALICE123@YAHOO.COM"
TEST_D = 0x128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263
TEST_PUBLIC = (
    "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
    "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"
)
TEST_K = "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F"
TEST_ZA = "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
TEST_E = "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"
TEST_R = "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1"
TEST_S = "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7"


def der_signature(r: int, s: int) -> bytes:
    def integer(value: int) -> bytes:
        body = value.to_bytes((value.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(body)]) + body

    content = integer(r) + integer(s)
    return b"\x30" + bytes([len(content)]) + content


def raw_to_der(raw_hex: str) -> bytes:
    return der_signature(int(raw_hex[:64], 16), int(raw_hex[64:], 16))


def gmssl_for(public_key: sm2.PublicKey, d: int | None = None) -> gmssl_sm2.CryptSM2:
    point = sm2.public_key_to_point(public_key)[1:].hex()
    return gmssl_sm2.CryptSM2(private_key=f"{d:064x}" if d else "", public_key=point, asn1=True)


def gmssl_sm3_hex(data: bytes) -> str:
    return gmssl_sm3.sm3_hash(func.bytes_to_list(data))


def annex_private_key() -> sm2.PrivateKey:
    """The Annex A key as PKCS#8, composed with asn1crypto (no back door into the library)."""
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value=sm2.CURVE_OID),
            },
            "private_key": keys.ECPrivateKey({"version": "ecPrivkeyVer1", "private_key": ANNEX_D}),
        }
    )
    return sm2.private_key_from_der(info.dump())


@pytest.fixture(scope="module")
def key() -> sm2.PrivateKey:
    return sm2.generate_private_key()


# --- constants and round trips ------------------------------------------------------------------------


def test_constants_name_the_national_algorithm() -> None:
    assert sm2.DEFAULT_SIGNER_ID == b"1234567812345678"
    assert sm2.SIGNATURE_ALGORITHM == "SM2-with-SM3"
    assert sm2.SIGNATURE_OID == "1.2.156.10197.1.501"


def test_sign_then_verify_round_trip(key: sm2.PrivateKey) -> None:
    signature = sm2.sign(key, b"EInvoice data")
    assert signature[0] == 0x30  # DER SEQUENCE
    assert sm2.verify(sm2.public_key_of(key), b"EInvoice data", signature)


def test_signatures_are_randomised_yet_both_verify(key: sm2.PrivateKey) -> None:
    first, second = sm2.sign(key, b"x"), sm2.sign(key, b"x")
    assert first != second
    assert sm2.verify(sm2.public_key_of(key), b"x", first) and sm2.verify(sm2.public_key_of(key), b"x", second)


def test_tampered_data_fails(key: sm2.PrivateKey) -> None:
    signature = sm2.sign(key, b"amount=100.00")
    assert not sm2.verify(sm2.public_key_of(key), b"amount=900.00", signature)


def test_tampered_signature_fails(key: sm2.PrivateKey) -> None:
    signature = bytearray(sm2.sign(key, b"data"))
    signature[-1] ^= 0x01
    assert not sm2.verify(sm2.public_key_of(key), b"data", bytes(signature))


def test_signature_by_another_key_fails(key: sm2.PrivateKey) -> None:
    other = sm2.generate_private_key()
    assert not sm2.verify(sm2.public_key_of(other), b"data", sm2.sign(key, b"data"))


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        b"\x30\x00",
        b"garbage",
        b"\x30\x06\x02\x01\x01\x02\x01\x01",  # r = s = 1: well-formed, wrong
        b"\x30\x06\x02\x01\x00\x02\x01\x01",  # r = 0
        b"\x30\x06\x02\x01\xff\x02\x01\x01",  # negative r
        b"\x30\x07\x02\x02\x00\x01\x02\x01\x01",  # non-minimal INTEGER
        bytes(72),
        b"\x30\x81\x06\x02\x01\x01\x02\x01\x01",  # long-form length where short form is required
    ],
)
def test_malformed_signatures_return_false_and_leave_the_library_usable(key: sm2.PrivateKey, signature: bytes) -> None:
    public = sm2.public_key_of(key)
    assert sm2.verify(public, b"data", signature) is False
    # the library's error queue is left clean: a good signature still verifies afterwards
    assert sm2.verify(public, b"data", sm2.sign(key, b"data"))


def test_trailing_bytes_after_a_valid_signature_are_refused(key: sm2.PrivateKey) -> None:
    signature = sm2.sign(key, b"data")
    assert not sm2.verify(sm2.public_key_of(key), b"data", signature + b"\x00")


def test_our_signature_is_plain_der_r_s(key: sm2.PrivateKey) -> None:
    # re-encoding the parsed (r, s) gives back the same bytes: minimal DER, nothing else inside
    signature = sm2.sign(key, b"data")
    parsed = DSASignature.load(signature)
    assert der_signature(parsed["r"].native, parsed["s"].native) == signature


def test_key_serialisation_round_trips(key: sm2.PrivateKey) -> None:
    public = sm2.public_key_of(key)
    restored = sm2.private_key_from_der(sm2.private_key_to_der(key))
    assert sm2.public_key_of(restored) == public
    assert sm2.public_key_from_der(sm2.public_key_to_der(public)) == public
    assert sm2.public_key_from_pem(sm2.public_key_to_pem(public)) == public
    assert sm2.public_key_of(sm2.private_key_from_pem(sm2.private_key_to_pem(key))) == public
    assert sm2.public_key_from_point(sm2.public_key_to_point(public)) == public
    assert sm2.private_key_to_pem(key).startswith(b"-----BEGIN PRIVATE KEY-----")
    # SubjectPublicKeyInfo names id-ecPublicKey with the SM2 curve
    info = keys.PublicKeyInfo.load(sm2.public_key_to_der(public))
    assert info["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"
    assert info["algorithm"]["parameters"].chosen.dotted == sm2.CURVE_OID


def test_private_key_repr_shows_no_material(key: sm2.PrivateKey) -> None:
    assert repr(key) == "<sm2.PrivateKey>"


def test_non_sm2_keys_and_garbage_are_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError):
        sm2.public_key_from_der(p256)
    with pytest.raises(ValueError):
        sm2.private_key_from_der(b"not a key")
    off_curve = bytearray(ANNEX_PUBLIC)
    off_curve[-1] ^= 1
    with pytest.raises(ValueError):
        sm2.public_key_from_point(bytes(off_curve))


# --- SM3: GB/T 32905-2016 Appendix A -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ],
)
def test_sm3_published_examples(message: bytes, digest: str) -> None:
    assert sm2.sm3(message).hex() == digest
    assert gmssl_sm3_hex(message) == digest


def test_sm3_agrees_with_gmssl_on_other_lengths() -> None:
    for length in (0, 1, 55, 56, 63, 64, 65, 1000):
        data = bytes(range(256)) * 4
        assert sm2.sm3(data[:length]).hex() == gmssl_sm3_hex(data[:length])


# --- GM/T 0003.5-2012 Annex A: the signature example on the recommended curve --------------------------


def test_annex_a_published_signature_verifies_with_tongsuopy() -> None:
    public = sm2.public_key_from_point(ANNEX_PUBLIC)
    assert sm2.verify(public, ANNEX_MESSAGE, der_signature(ANNEX_R, ANNEX_S))
    assert not sm2.verify(public, b"message digesT", der_signature(ANNEX_R, ANNEX_S))


def test_annex_a_published_signature_verifies_with_gmssl() -> None:
    gm = gmssl_sm2.CryptSM2(private_key="", public_key=ANNEX_PUBLIC[1:].hex())
    assert gm.verify_with_sm3(f"{ANNEX_R:064x}{ANNEX_S:064x}", ANNEX_MESSAGE)


def test_annex_a_intermediate_values_za_and_e() -> None:
    table = gmssl_sm2.default_ecc_table
    entl_id = (len(sm2.DEFAULT_SIGNER_ID) * 8).to_bytes(2, "big") + sm2.DEFAULT_SIGNER_ID
    z_input = entl_id + bytes.fromhex(table["a"] + table["b"] + table["g"]) + ANNEX_PUBLIC[1:]
    za = sm2.sm3(z_input)
    assert za.hex().upper() == ANNEX_ZA
    assert sm2.sm3(za + ANNEX_MESSAGE).hex().upper() == ANNEX_E


def test_annex_a_gmssl_with_the_published_k_reproduces_r_and_s() -> None:
    gm = gmssl_sm2.CryptSM2(private_key=f"{ANNEX_D:064x}", public_key=ANNEX_PUBLIC[1:].hex())
    assert gm.sign_with_sm3(ANNEX_MESSAGE, ANNEX_K) == f"{ANNEX_R:064x}{ANNEX_S:064x}"


def test_annex_a_private_key_gives_the_published_public_key_and_signs_for_gmssl() -> None:
    private = annex_private_key()
    assert sm2.public_key_to_point(sm2.public_key_of(private)) == ANNEX_PUBLIC
    signature = sm2.sign(private, ANNEX_MESSAGE)
    gm = gmssl_sm2.CryptSM2(private_key="", public_key=ANNEX_PUBLIC[1:].hex(), asn1=True)
    assert gm.verify_with_sm3(signature.hex(), ANNEX_MESSAGE)


# --- GB/T 32918.2-2016 Annex A: the example on the test curve (gmssl only) ----------------------------


def test_gbt_32918_2_annex_a_example_on_the_test_curve() -> None:
    gm = gmssl_sm2.CryptSM2(private_key=f"{TEST_D:064x}", public_key="00" * 64, ecc_table=TEST_CURVE)
    public = gm._kg(TEST_D, TEST_CURVE["g"]).upper()
    assert public == TEST_PUBLIC
    z_input = (
        (len(TEST_ID) * 8).to_bytes(2, "big")
        + TEST_ID
        + bytes.fromhex(TEST_CURVE["a"] + TEST_CURVE["b"] + TEST_CURVE["g"] + TEST_PUBLIC)
    )
    za = sm2.sm3(z_input)
    assert za.hex().upper() == TEST_ZA == gmssl_sm3_hex(z_input).upper()
    e = sm2.sm3(za + ANNEX_MESSAGE)
    assert e.hex().upper() == TEST_E
    signer = gmssl_sm2.CryptSM2(private_key=f"{TEST_D:064x}", public_key=TEST_PUBLIC, ecc_table=TEST_CURVE)
    assert signer.sign(e, TEST_K).upper() == TEST_R + TEST_S
    assert signer.verify(TEST_R + TEST_S, e)


# --- interop with gmssl, both directions: proves the default signer ID ---------------------------------


def test_gmssl_verifies_tongsuopy_signatures_with_id_1234567812345678(key: sm2.PrivateKey) -> None:
    gm = gmssl_for(sm2.public_key_of(key))
    for message in (b"", b"a", "湖南省财政电子票据".encode(), bytes(range(256)) * 3):
        assert gm.verify_with_sm3(sm2.sign(key, message).hex(), message)


def test_tongsuopy_verifies_gmssl_signatures(key: sm2.PrivateKey) -> None:
    gm = gmssl_for(sm2.public_key_of(key), d=private_scalar(key))
    for message in (b"", b"a", "财政监制章".encode(), bytes(range(256)) * 3):
        signature = bytes.fromhex(gm.sign_with_sm3(message))
        assert sm2.verify(sm2.public_key_of(key), message, signature)
        assert not sm2.verify(sm2.public_key_of(key), message + b"!", signature)


def test_a_signature_under_another_signer_id_does_not_verify(key: sm2.PrivateKey) -> None:
    # gmssl signing with an explicit Z over a different ID: our verify (default ID) must refuse it
    table = gmssl_sm2.default_ecc_table
    point = sm2.public_key_to_point(sm2.public_key_of(key))[1:]
    other_id = b"ALICE123@YAHOO.COM"
    za = sm2.sm3(
        (len(other_id) * 8).to_bytes(2, "big") + other_id + bytes.fromhex(table["a"] + table["b"] + table["g"]) + point
    )
    e = sm2.sm3(za + b"data")
    gm = gmssl_sm2.CryptSM2(private_key=f"{private_scalar(key):064x}", public_key=point.hex())
    raw = gm.sign(e, func.random_hex(64))
    assert not sm2.verify(sm2.public_key_of(key), b"data", raw_to_der(raw))


def private_scalar(key: sm2.PrivateKey) -> int:
    info = keys.PrivateKeyInfo.load(sm2.private_key_to_der(key))
    return info["private_key"].parsed["private_key"].native
