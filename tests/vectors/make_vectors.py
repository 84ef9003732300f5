"""Regenerate (default) or check (--check) the data file test vectors in this directory.

    .venv/bin/python tests/vectors/make_vectors.py           # write the vectors
    .venv/bin/python tests/vectors/make_vectors.py --check   # verify the committed files

Everything is deterministic except SM2 signatures, which are randomised: when writing,
a committed signature that still verifies over the recomputed signed bytes is kept, so
a run without changes rewrites identical files; a new one is made only when the signed
bytes changed (or the keys are new). --check rebuilds every file from input.json, the
keys and the committed signature values, and compares bytes; it also verifies each
signature with the published public key. See README.md and docs/signature.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VECTORS = ("01-nontax", "02-outpatient", "03-red")
ROLES = ("unit", "supervisor")
SUPERVISOR_KEY = "supervisor-430000"

# SM2 curve parameters (GB/T 32918.5) and the default signer ID, for publishing
# Z_A and e = SM3(Z_A || M), the digest an SM2 signature is computed over.
SM2_A = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC")
SM2_B = bytes.fromhex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
SM2_GX = bytes.fromhex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
SM2_GY = bytes.fromhex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")


def _setup_django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def za_digest(point: bytes, signer_id: bytes) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A) for an uncompressed point."""
    from zhongtai.signing import sm2

    entl = (len(signer_id) * 8).to_bytes(2, "big")
    return sm2.sm3(entl + signer_id + SM2_A + SM2_B + SM2_GX + SM2_GY + point[1:33] + point[33:65])


def receipt_from_input(data: dict[str, Any]) -> Any:
    """An unsaved Receipt (with kind, unit, items and original) built from a vector's input.json."""
    from issuance.models import Receipt, ReceiptItem
    from zhongtai.masterdata.models import ReceiptKind, Unit

    fields = data["receipt"]
    related = fields["related_receipt"]
    receipt = Receipt(
        id=1,
        receipt_code=fields["receipt_code"],
        number=fields["number"],
        check_code=fields["check_code"],
        kind=ReceiptKind(**data["kind"]),
        unit=Unit(**data["unit"]),
        region_code=fields["region_code"],
        is_red=fields["is_red"],
        related_receipt=Receipt(receipt_code=related["receipt_code"], number=related["number"]) if related else None,
        bus_no=fields["bus_no"] or None,
        issued_at=datetime.datetime.fromisoformat(fields["issued_at"]),
        issue_date=datetime.date.fromisoformat(fields["issue_date"]),
        payer_type=fields["payer_type"],
        payer_name=fields["payer_name"],
        payer_code=fields["payer_code"],
        payer_account=fields["payer_account"],
        payer_bank=fields["payer_bank"],
        payee_name=fields["payee_name"],
        payee_account=fields["payee_account"],
        payee_bank=fields["payee_bank"],
        total_amount=Decimal(fields["total_amount"]),
        currency=fields["currency"],
        pay_mode=fields["pay_mode"],
        handling_person=fields["handling_person"],
        checker=fields["checker"],
        remark=fields["remark"],
        ext=fields["ext"],
    )
    receipt._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "items": [
            ReceiptItem(
                line_no=item["line_no"],
                item_code=item["item_code"],
                item_name=item["item_name"],
                unit_of_measure=item["unit_of_measure"],
                quantity=Decimal(item["quantity"]),
                standard=Decimal(item["standard"]),
                amount=Decimal(item["amount"]),
                remark=item["remark"],
            )
            for item in data["items"]
        ]
    }
    return receipt


def key_names(data: dict[str, Any]) -> dict[str, str]:
    return {"unit": f"unit-{data['unit']['code']}", "supervisor": SUPERVISOR_KEY}


@dataclass
class Keys:
    private_pem: bytes
    public_pem: bytes

    def sign(self, data: bytes) -> bytes:
        from zhongtai.signing import sm2

        return sm2.sign(sm2.private_key_from_pem(self.private_pem), data)

    def verify(self, data: bytes, signature: bytes) -> bool:
        from zhongtai.signing import sm2

        return sm2.verify(sm2.public_key_from_pem(self.public_pem), data, signature)

    def point(self) -> bytes:
        from zhongtai.signing import sm2

        return sm2.public_key_to_point(sm2.public_key_from_pem(self.public_pem))


def load_keys(name: str, *, create: bool) -> Keys:
    from zhongtai.signing import sm2

    private_path = HERE / "keys" / f"{name}.private.pem"
    public_path = HERE / "keys" / f"{name}.public.pem"
    if not private_path.exists():
        if not create:
            raise FileNotFoundError(private_path)
        key = sm2.generate_private_key()
        private_path.parent.mkdir(exist_ok=True)
        private_path.write_bytes(sm2.private_key_to_pem(key))
        public_path.write_bytes(sm2.public_key_to_pem(sm2.public_key_of(key)))
    keys = Keys(private_path.read_bytes(), public_path.read_bytes())
    private = sm2.private_key_from_pem(keys.private_pem)
    if sm2.public_key_of(private) != sm2.public_key_from_pem(keys.public_pem):
        raise ValueError(f"keys/{name}: the public key is not that of the private key")
    return keys


def build_vector(
    name: str, *, signature_for: Callable[[str, bytes, Keys], bytes]
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every file of one vector: {file name: bytes}, and the content of signatures.json.

    ``signature_for(role, signed_bytes, keys)`` supplies the DER signature of each role.
    """
    from django.test import override_settings

    from issuance.datafile import (
        datafile_add_signature,
        datafile_bytes_to_sign,
        datafile_signed_bytes,
        datafile_verify_signature,
        receipt_xml_build,
    )
    from zhongtai.signing import sm2

    data = json.loads((HERE / name / "input.json").read_text(encoding="utf-8"))
    names = key_names(data)
    with override_settings(EREC_PROVINCE_CODE=data["province_code"]):
        unsigned = receipt_xml_build(receipt_from_input(data))
    files: dict[str, bytes] = {"unsigned.xml": unsigned}
    meta: dict[str, Any] = {}
    document = unsigned
    for role, signed_name in zip(ROLES, ("unit-signed.xml", "signed.xml"), strict=True):
        keys = load_keys(names[role], create=False)
        signing = data["signing"][role]
        moment = datetime.datetime.fromisoformat(signing["signing_time"])
        to_sign = datafile_bytes_to_sign(
            document, role=role, certificate_serial=signing["certificate_serial"], signing_time=moment
        )
        signature = signature_for(role, to_sign, keys)
        document = datafile_add_signature(
            document,
            role=role,
            signature=signature,
            certificate_serial=signing["certificate_serial"],
            signing_time=moment,
        )
        assert datafile_signed_bytes(document, role) == to_sign
        za = za_digest(keys.point(), sm2.DEFAULT_SIGNER_ID)
        files[f"{role}.c14n"] = to_sign
        files[signed_name] = document
        meta[role] = {
            "key": f"keys/{names[role]}.public.pem",
            "certificate_serial": signing["certificate_serial"],
            "signing_time": signing["signing_time"],
            "signed_bytes_file": f"{role}.c14n",
            "signed_bytes_length": len(to_sign),
            "signed_bytes_sm3": sm2.sm3(to_sign).hex(),
            "signer_id": sm2.DEFAULT_SIGNER_ID.decode("ascii"),
            "za": za.hex(),
            "e": sm2.sm3(za + to_sign).hex(),
            "signature_der_hex": signature.hex(),
            "signature_base64": base64.b64encode(signature).decode("ascii"),
        }
    for role in ROLES:
        keys = load_keys(names[role], create=False)
        check = datafile_verify_signature(document, role=role, verify=keys.verify)
        if not check.valid:
            raise AssertionError(f"{name}: {check.reason}")
    files["signatures.json"] = (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return files, meta


def _committed_signatures(name: str) -> dict[str, Any]:
    path = HERE / name / "signatures.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write() -> int:
    for name in VECTORS:
        data = json.loads((HERE / name / "input.json").read_text(encoding="utf-8"))
        for key_name in key_names(data).values():
            load_keys(key_name, create=True)
        committed = _committed_signatures(name)

        def keep_or_sign(role: str, to_sign: bytes, keys: Keys, committed: dict[str, Any] = committed) -> bytes:
            old = bytes.fromhex(committed.get(role, {}).get("signature_der_hex", ""))
            return old if old and keys.verify(to_sign, old) else keys.sign(to_sign)

        files, _ = build_vector(name, signature_for=keep_or_sign)
        for file_name, content in files.items():
            (HERE / name / file_name).write_bytes(content)
        print(f"{name}: wrote {', '.join(sorted(files))}")
    return 0


def check() -> int:
    problems: list[str] = []
    for name in VECTORS:
        committed = _committed_signatures(name)

        def committed_signature(
            role: str, to_sign: bytes, keys: Keys, committed: dict[str, Any] = committed, name: str = name
        ) -> bytes:
            signature = bytes.fromhex(committed[role]["signature_der_hex"])
            if base64.b64encode(signature).decode("ascii") != committed[role]["signature_base64"]:
                problems.append(f"{name}: {role} signature hex and base64 differ")
            if not keys.verify(to_sign, signature):
                problems.append(f"{name}: the {role} signature does not verify over the recomputed {role}.c14n")
            return signature

        try:
            files, _ = build_vector(name, signature_for=committed_signature)
        except (KeyError, FileNotFoundError, ValueError, AssertionError) as exc:
            problems.append(f"{name}: cannot rebuild: {exc!r}")
            continue
        for file_name, content in files.items():
            path = HERE / name / file_name
            if not path.exists():
                problems.append(f"{name}/{file_name}: missing")
            elif path.read_bytes() != content:
                problems.append(f"{name}/{file_name}: differs from what input.json and the keys produce")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"all {len(VECTORS)} vectors reproduce byte for byte and every signature verifies")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the committed files instead of writing")
    args = parser.parse_args(argv)
    _setup_django()
    return check() if args.check else write()


if __name__ == "__main__":
    sys.exit(main())
