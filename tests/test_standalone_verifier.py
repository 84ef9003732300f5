"""docs/verify_receipt.py, the verifier for third parties, agrees with `manage.py verify_receipt`
and needs nothing of the platform: only Python's standard library and tongsuopy.

It is run as a third party runs it (a subprocess on files exported by `export_certificates`), and
its verdicts are compared check by check with the command's. Its own parts (the XSD as tables, the
signed parts, the DER reader) are compared with the platform's.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lxml import etree

from issuance.datafile import DataFileError, datafile_validate
from issuance.layout import layout_data_from_receipt, pdf_attach_xml, render_receipt_pdf
from issuance.models import Receipt
from tests.issuance.test_verifier import (
    ACTOR,
    TAMPERING,
    export,
    file_args,
    flip,
    issue_signed,
    load_receipt,
    outcomes,
    sign_with_an_expired_certificate,
    verify,
    write,
)
from zhongtai.masterdata.models import Region
from zhongtai.signing import x509 as certs
from zhongtai.signing.services import ca_bootstrap, certificate_revoke

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "verify_receipt.py"
XSD = ROOT / "docs" / "schema" / "einvoice-1.0.xsd"
VECTORS = ROOT / "tests" / "vectors"
XS = "{http://www.w3.org/2001/XMLSchema}"

# Run the script the way a third party does, in a process where importing anything but the
# standard library and tongsuopy (and its cffi) fails, and where the project is not on sys.path.
ISOLATED_RUNNER = """
import runpy, sys
from pathlib import Path
project = Path(sys.argv[1]).resolve()
assert all(Path(entry or ".").resolve() != project for entry in sys.path), sys.path
ALLOWED = {"tongsuopy", "_cffi_backend", "cffi"}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in sys.stdlib_module_names and top not in ALLOWED:
            raise ImportError(f"the standalone verifier imported {name}")
        return None
sys.meta_path.insert(0, Refuse())
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def standalone(*args: str, cwd: Path, isolated: bool = False) -> tuple[int, dict[str, Any], str]:
    """(exit code, JSON verdict, stderr) of docs/verify_receipt.py run with --json."""
    if isolated:
        command = [sys.executable, "-I", "-c", ISOLATED_RUNNER, str(ROOT), str(SCRIPT), *args, "--json"]
    else:
        command = [sys.executable, str(SCRIPT), *args, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_receipt_standalone", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def signed(api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    return issue_signed(api, django_capture_on_commit_callbacks, "STANDALONE1")


@pytest.fixture
def exported(signed: Receipt, tmp_path: Path) -> Path:
    return export(tmp_path / "certs")


# --- the same verdicts -------------------------------------------------------------------------

Case = Callable[[Receipt, dict[str, Any], Path, Path], tuple[Path, list[str]]]


def _valid_xml(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    return write(tmp, "einvoice.xml", signed.datafile.read()), file_args(certs_dir)


def _valid_pdf(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    return write(tmp, "einvoice.pdf", signed.layout_file.read()), file_args(certs_dir)


def _valid_without_crl(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    return write(tmp, "einvoice.pdf", signed.layout_file.read()), file_args(certs_dir, crl=False)


def _indented(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    tree = etree.fromstring(signed.datafile.read())
    indented = etree.tostring(tree, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return write(tmp, "indented.xml", indented), file_args(certs_dir)


def _tampered(index: int) -> Case:
    def case(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
        xml = signed.datafile.read()
        return write(tmp, "tampered.xml", flip(xml, TAMPERING[index][1](xml))), file_args(certs_dir)

    return case


def _wrong_root(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    hubei = Region.objects.create(code="420000", name="湖北省", level=Region.Level.PROVINCE)
    hierarchy = ca_bootstrap(province=hubei, actor=ACTOR)
    assert hierarchy.root.certificate is not None
    root = write(tmp, "hubei-root.pem", certs.der_to_pem(bytes(hierarchy.root.certificate.der)))
    return write(tmp, "einvoice.xml", signed.datafile.read()), ["--root", str(root), "--certs", str(certs_dir)]


def _revoked(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    certificate_revoke(certificate=pki["unit_cert"], reason="key_compromise", actor=ACTOR)
    directory = export(tmp / "after-revocation")
    return write(tmp, "einvoice.xml", signed.datafile.read()), file_args(directory)


def _pdf_without_xml(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    pdf = render_receipt_pdf(layout_data_from_receipt(load_receipt(signed)), xml=None)
    return write(tmp, "bare.pdf", pdf), file_args(certs_dir)


def _pdf_with_two_xml(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    pdf = pdf_attach_xml(signed.layout_file.read(), signed.datafile.read())
    return write(tmp, "double.pdf", pdf), file_args(certs_dir)


def _doctype(signed: Receipt, pki: dict[str, Any], certs_dir: Path, tmp: Path) -> tuple[Path, list[str]]:
    xml = signed.datafile.read().replace(b"?>\n", b'?>\n<!DOCTYPE EInvoice [<!ENTITY x "y">]>\n', 1)
    return write(tmp, "dtd.xml", xml), file_args(certs_dir)


CASES: dict[str, Case] = {
    "valid xml": _valid_xml,
    "valid pdf": _valid_pdf,
    "valid, no crl": _valid_without_crl,
    "indented": _indented,
    **{f"tampered {TAMPERING[index][0]}": _tampered(index) for index in range(len(TAMPERING))},
    "wrong root": _wrong_root,
    "revoked": _revoked,
    "pdf without xml": _pdf_without_xml,
    "pdf with two xml": _pdf_with_two_xml,
    "doctype": _doctype,
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_standalone_script_reaches_the_commands_verdict(
    signed: Receipt, pki: dict[str, Any], exported: Path, tmp_path: Path, case: str
) -> None:
    # given a receipt file and the exported trust material
    path, args = CASES[case](signed, pki, exported, tmp_path)
    # when the platform's command and the standalone script verify it
    command_code, command = verify(str(path), *args)
    script_code, script, stderr = standalone(str(path), *args, cwd=tmp_path)
    # then they agree on the verdict, on every check and its code, on the signed bytes and on the receipt
    assert script, stderr
    assert (script_code, script["valid"]) == (command_code, command["valid"])
    assert outcomes(script) == outcomes(command)
    for name in ("canonical", "unit_certificate_chain", "supervisor_certificate_chain"):
        mine = [item["data"] for item in script["checks"] if item["name"] == name]
        theirs = [item["data"] for item in command["checks"] if item["name"] == name]
        assert mine == theirs, name
    assert script["receipt"] == command["receipt"]
    assert script["fileType"] == command["fileType"]


def test_a_sandbox_receipt_is_rejected_by_both(
    unit: Any, pki: dict[str, Any], exported: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receipt issued in joint testing (sandbox), validly signed
    from issuance.payload import parse_issue_input
    from issuance.services import receipt_issue
    from tests.conftest import nontax_payload
    from zhongtai.audit.services import Actor

    data, _ = parse_issue_input(nontax_payload("SANDBOX1"), require_bus_no=True)
    assert data is not None
    with django_capture_on_commit_callbacks(execute=True):
        receipt, _ = receipt_issue(unit=unit, data=data, actor=Actor.system("tests"), source="api", sandbox=True)
    receipt.refresh_from_db()
    path = write(tmp_path, "sandbox.xml", receipt.datafile.read())
    # when both verify it, then both refuse it for the same reason only
    command_code, command = verify(str(path), *file_args(exported))
    script_code, script, _ = standalone(str(path), *file_args(exported), cwd=tmp_path)
    assert (script_code, command_code) == (1, 1)
    assert outcomes(script) == outcomes(command)
    assert [c["name"] for c in script["checks"] if c["ok"] is False] == ["sandbox_receipt"]


def test_an_expired_certificate_is_rejected_by_both(unit: Any, province: Region, tmp_path: Path) -> None:
    path, _ = sign_with_an_expired_certificate(unit, province, tmp_path)
    args = file_args(tmp_path / "certs")
    command_code, command = verify(str(path), *args)
    script_code, script, _ = standalone(str(path), *args, cwd=tmp_path)
    assert (script_code, command_code) == (1, 1)
    assert outcomes(script) == outcomes(command)
    chain = next(item for item in script["checks"] if item["name"] == "unit_certificate_chain")
    assert chain["code"] == "EXPIRED" and "有效期" in chain["reason"]


# --- needs nothing of the platform --------------------------------------------------------------


def test_it_runs_isolated_with_only_the_standard_library_and_tongsuopy(
    signed: Receipt, exported: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "einvoice.pdf", signed.layout_file.read())
    code, verdict, stderr = standalone(str(path), *file_args(exported), cwd=tmp_path, isolated=True)
    assert code == 0, stderr
    assert verdict["valid"] is True
    xml = signed.datafile.read()
    tampered = write(tmp_path, "tampered.xml", flip(xml, TAMPERING[1][1](xml)))
    code, verdict, stderr = standalone(str(tampered), *file_args(exported), cwd=tmp_path, isolated=True)
    assert code == 1, stderr
    assert [c["code"] for c in verdict["checks"] if c["name"] == "unit_signature"] == ["SIGNATURE_MISMATCH"]


def test_its_text_output_matches_the_commands_layout(signed: Receipt, exported: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(path), *file_args(exported)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("票据验证结果：有效（VALID）")
    assert "[通过] supervisor_signature 财政监制签名" in done.stdout
    assert f"票据号码：{signed.number_text}" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(lambda d, f: [f, "--certs", str(d)], id="no root"),
        pytest.param(lambda d, f: [f, "--root", str(d / "root-ca.pem")], id="no certs"),
        pytest.param(lambda d, f: [f + ".missing", *file_args(d)], id="missing file"),
        pytest.param(
            lambda d, f: [f, "--root", str(d / "issuing-ca.crl.pem"), "--certs", str(d)], id="root not a cert"
        ),
        pytest.param(lambda d, f: [f, *file_args(d, crl=False), "--crl", str(d / "root-ca.pem")], id="crl not a crl"),
    ],
)
def test_usage_errors_exit_with_2(signed: Receipt, exported: Path, tmp_path: Path, args: Any) -> None:
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args(exported, str(path))], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr


# --- its own parts agree with the platform's ----------------------------------------------------


def _flatten(simple_type: etree._Element, named: dict[str, etree._Element]) -> tuple[Any, ...]:
    restriction = simple_type.find(f"{XS}restriction")
    assert restriction is not None
    base = restriction.get("base", "")
    if base.startswith("xs:"):
        builtin, patterns, enumeration, max_length, max_inclusive = base, (), (), None, None
    else:
        builtin, patterns, enumeration, max_length, max_inclusive = _flatten(named[base], named)
    patterns = (*patterns, *(item.get("value") for item in restriction.findall(f"{XS}pattern")))
    enumeration = tuple(item.get("value") for item in restriction.findall(f"{XS}enumeration")) or enumeration
    length = restriction.find(f"{XS}maxLength")
    inclusive = restriction.find(f"{XS}maxInclusive")
    return (
        builtin,
        patterns,
        enumeration,
        int(length.get("value", "")) if length is not None else max_length,
        int(inclusive.get("value", "")) if inclusive is not None else max_inclusive,
    )


def test_the_scripts_schema_tables_are_the_xsd(script: ModuleType) -> None:
    schema = etree.parse(str(XSD)).getroot()
    named = {item.get("name", ""): item for item in schema.findall(f"{XS}simpleType")}
    simple = {name: _flatten(item, named) for name, item in named.items()}
    complex_types: dict[str, tuple[tuple[str, str, int, int | None], ...]] = {}
    attributes: dict[str, dict[str, str]] = {}
    sources = [(item.get("name", ""), item) for item in schema.findall(f"{XS}complexType")]
    sources += [(item.get("name", ""), item.find(f"{XS}complexType")) for item in schema.findall(f"{XS}element")]
    for name, complex_type in sources:
        assert complex_type is not None
        particles = []
        for element in complex_type.findall(f"{XS}sequence/{XS}element"):
            element_name = element.get("name", "")
            inline = element.find(f"{XS}simpleType")
            if inline is not None:
                simple[element_name] = _flatten(inline, named)
            maximum = element.get("maxOccurs", "1")
            particles.append(
                (
                    element_name,
                    element.get("type", element_name),
                    int(element.get("minOccurs", "1")),
                    None if maximum == "unbounded" else int(maximum),
                )
            )
        complex_types[name] = tuple(particles)
        for attribute in complex_type.findall(f"{XS}attribute"):
            assert attribute.get("use") == "required"
            attributes.setdefault(name, {})[attribute.get("name", "")] = attribute.get("type", "")
    assert simple == script.SIMPLE_TYPES
    assert complex_types == script.COMPLEX_TYPES
    assert attributes == script.ATTRIBUTES


def _mutations() -> dict[str, Callable[[bytes], bytes]]:
    def swap(old: str, new: str) -> Callable[[bytes], bytes]:
        return lambda xml: xml.replace(old.encode(), new.encode(), 1)

    people = "<HandlingPerson>李收款</HandlingPerson><Checker>王复核</Checker>"
    return {
        "missing required element": swap("<CurrencyType>CNY</CurrencyType>", ""),
        "elements out of order": swap(people, "<Checker>王复核</Checker><HandlingPerson>李收款</HandlingPerson>"),
        "unknown element": swap("</Header>", "<Extra>1</Extra></Header>"),
        "amount with one decimal": swap("<ItemAmount>20.00<", "<ItemAmount>20.0<"),
        "leading space": swap("<PayerPartyName>", "<PayerPartyName> "),
        "empty optional element": swap("<PayMode>微信</PayMode>", "<PayMode/>"),
        "too long": swap("<Checker>王复核<", "<Checker>" + "王" * 41 + "<"),
        "unknown attribute": swap('<Signature Role="unit">', '<Signature Role="unit" Id="u">'),
        "bad role": swap('Role="supervisor"', 'Role="auditor"'),
        "text between elements": swap("</Header>", "</Header>x"),
        "lower-case serial": swap("<CertificateSerial>7A3F", "<CertificateSerial>7a3f"),
        "supervisor before unit": lambda xml: (
            xml.replace(b'Role="unit"', b'Role="-"')
            .replace(b'Role="supervisor"', b'Role="unit"')
            .replace(b'Role="-"', b'Role="supervisor"')
        ),
        "total not the sum": swap("<TotalAmount>55.88<", "<TotalAmount>55.89<"),
        "bad check character": swap("11430102MB1A2C3D4B", "11430102MB1A2C3D4C"),
        "version 2": swap("<Version>1.0.0<", "<Version>2.0.0<"),
    }


@pytest.mark.parametrize("mutation", list(_mutations()))
def test_the_script_refuses_what_the_platform_refuses(script: ModuleType, mutation: str) -> None:
    # given the published vector, made invalid in one way
    original = (VECTORS / "01-nontax" / "signed.xml").read_bytes()
    changed = _mutations()[mutation](original)
    assert changed != original, "the mutation must apply"
    # then the platform refuses it, and the script refuses it with the same code
    with pytest.raises(DataFileError) as caught:
        datafile_validate(changed)
    problem = script.datafile_validate(script.datafile_load(changed))
    assert problem is not None
    assert problem.code == caught.value.code


@pytest.mark.parametrize("name", ["01-nontax", "02-outpatient", "03-red"])
def test_the_script_reproduces_the_published_signed_bytes(script: ModuleType, name: str) -> None:
    signed = (VECTORS / name / "signed.xml").read_bytes()
    root = script.datafile_load(signed)
    assert script.datafile_validate(root) is None
    for role in ("unit", "supervisor"):
        assert script.signed_part(root, role) == (VECTORS / name / f"{role}.c14n").read_bytes()


def test_the_scripts_der_reader_agrees_with_the_platforms(
    script: ModuleType, exported: Path, pki: dict[str, Any]
) -> None:
    certificate_revoke(certificate=pki["unit_cert"], reason="affiliation_changed", actor=ACTOR)
    directory = export(exported.parent / "again")
    for path in sorted(directory.glob("*.pem")):
        der = certs.pem_to_der(path.read_bytes())
        if path.name.endswith(".crl.pem"):
            mine, theirs = script.crl_parse(der), certs.crl_parse(der)
            assert mine.revoked == theirs.revoked
            assert (mine.this_update, mine.next_update) == (theirs.this_update, theirs.next_update)
            assert (mine.tbs, mine.signature, mine.authority_key_id) == (
                theirs.tbs,
                theirs.signature,
                theirs.authority_key_id,
            )
            continue
        mine, theirs = script.certificate_parse(der), certs.certificate_parse(der)
        assert (mine.serial, mine.subject_text, mine.tbs, mine.signature) == (
            theirs.serial,
            theirs.subject_text,
            theirs.tbs,
            theirs.signature,
        )
        assert (mine.not_before, mine.not_after, mine.is_ca, mine.path_len) == (
            theirs.not_before,
            theirs.not_after,
            theirs.is_ca,
            theirs.path_len,
        )
        assert (mine.key_usage, mine.subject_key_id, mine.authority_key_id) == (
            theirs.key_usage,
            theirs.subject_key_id,
            theirs.authority_key_id,
        )
        assert (mine.issuer, mine.subject) == (theirs.issuer.dump(), theirs.subject.dump())
