"""TOTP (RFC 6238) as written in zhongtai.accounts.totp, against the RFC's own test vectors."""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from zhongtai.accounts import totp

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SEED_SHA1 = b"12345678901234567890"
RFC_VECTORS_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS_SHA1)
def test_rfc6238_appendix_b_sha1_vectors_with_8_digits(unix_time: int, expected: str) -> None:
    # given the RFC's seed and time / when an 8-digit code is computed / then it is the RFC's
    assert totp.totp(RFC_SEED_SHA1, unix_time, digits=8) == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS_SHA1)
def test_our_6_digit_codes_are_the_rfc_values_modulo_a_million(unix_time: int, expected: str) -> None:
    # the truncation is binary % 10^digits, so 6 digits are the last 6 of the 8-digit value
    assert totp.totp(RFC_SEED_SHA1, unix_time) == expected[-6:]


def test_rfc4226_appendix_d_hotp_values() -> None:
    # RFC 4226's HOTP values for counters 0..9, the building block of TOTP
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [totp.hotp(RFC_SEED_SHA1, counter) for counter in range(10)] == expected


def test_datetimes_and_unix_seconds_give_the_same_code() -> None:
    at = datetime.datetime.fromtimestamp(1111111111, tz=datetime.UTC)
    assert totp.totp(RFC_SEED_SHA1, at) == "050471"


def test_a_code_one_step_either_side_is_accepted_two_steps_is_not() -> None:
    # given the code of step T
    now = 1_800_000_015
    step = totp.time_step(now)
    code = totp.hotp(RFC_SEED_SHA1, step)
    # when it is presented 30 s early or late, it matches step T; 60 s away it does not
    assert totp.totp_match(RFC_SEED_SHA1, code, now - 30) == step
    assert totp.totp_match(RFC_SEED_SHA1, code, now + 30) == step
    assert totp.totp_match(RFC_SEED_SHA1, code, now + 60) is None
    assert totp.totp_match(RFC_SEED_SHA1, code, now - 60) is None


def test_a_used_step_and_older_ones_never_match_again() -> None:
    now = 1_800_000_015
    step = totp.time_step(now)
    code = totp.hotp(RFC_SEED_SHA1, step)
    assert totp.totp_match(RFC_SEED_SHA1, code, now, after_step=step) is None
    previous = totp.hotp(RFC_SEED_SHA1, step - 1)
    assert totp.totp_match(RFC_SEED_SHA1, previous, now, after_step=step) is None
    # a later step is still fine
    assert totp.totp_match(RFC_SEED_SHA1, totp.hotp(RFC_SEED_SHA1, step + 1), now, after_step=step) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 345", "１２３４５６"])
def test_malformed_codes_do_not_match(bad: str) -> None:
    now = 1_800_000_015
    assert totp.totp_match(RFC_SEED_SHA1, bad, now) is None


def test_spaces_typed_inside_a_code_are_ignored() -> None:
    now = 1_800_000_015
    code = totp.totp(RFC_SEED_SHA1, now)
    assert totp.totp_match(RFC_SEED_SHA1, f"{code[:3]} {code[3:]}", now) == totp.time_step(now)


def test_secrets_are_20_random_bytes_and_survive_base32_as_people_type_it() -> None:
    first, second = totp.secret_generate(), totp.secret_generate()
    assert len(first) == 20 and first != second
    text = totp.secret_to_base32(first)
    assert len(text) == 32 and "=" not in text
    spaced = " ".join(text[i : i + 4] for i in range(0, 32, 4)).lower()
    assert totp.secret_from_base32(spaced) == first


def test_the_provisioning_uri_follows_the_key_uri_format() -> None:
    uri = totp.provisioning_uri(RFC_SEED_SHA1, account="changsha", issuer="财政电子票据")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/%E8%B4%A2%E6%94%BF%E7%94%B5%E5%AD%90%E7%A5%A8%E6%8D%AE:changsha"
    query = parse_qs(parts.query)
    assert query == {
        "secret": [totp.secret_to_base32(RFC_SEED_SHA1)],
        "issuer": ["财政电子票据"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


def test_seconds_left_counts_down_within_the_step() -> None:
    assert totp.seconds_left(1_800_000_000) == 30
    assert totp.seconds_left(1_800_000_029) == 1
