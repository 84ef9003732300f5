"""The data file (数据文件) of a receipt: XML root EInvoice, its schema, canonical form and signatures.

The specification is docs/signature.md; the schema docs/schema/einvoice-1.0.xsd;
published test vectors tests/vectors/.

Typical use::

    xml = receipt_xml_build(receipt)
    xml = datafile_sign(xml, role="unit", signer=unit_signer, certificate_serial=..., signing_time=...)
    xml = datafile_supervise(xml, unit_verify=..., number_is_unique=..., signer=..., ...)
    check = datafile_verify_signature(xml, role="supervisor", verify=...)
    content = datafile_parse(xml)
"""

from __future__ import annotations

from issuance.datafile.builder import SANDBOX_REMARK, einvoice_id, receipt_xml_build
from issuance.datafile.canonical import (
    EXC_C14N_URI,
    SignatureRole,
    canonical_bytes,
    datafile_signed_bytes,
)
from issuance.datafile.errors import DataFileError, DataFileErrorCode
from issuance.datafile.parse import AuxItem, DataFile, InvoicingParty, Item, PayerParty, SignatureInfo, datafile_parse
from issuance.datafile.schema import CURRENT_VERSION, datafile_load, datafile_validate, schema_path
from issuance.datafile.signatures import (
    SIGNATURE_ALGORITHM,
    SIGNATURE_OID,
    CheckOutcome,
    SignatureCheck,
    SupervisedSigning,
    datafile_add_signature,
    datafile_bytes_to_sign,
    datafile_sign,
    datafile_sign_and_supervise,
    datafile_sign_and_supervise_many,
    datafile_supervise,
    datafile_verify_signature,
)

__all__ = [
    "CURRENT_VERSION",
    "EXC_C14N_URI",
    "SANDBOX_REMARK",
    "SIGNATURE_ALGORITHM",
    "SIGNATURE_OID",
    "AuxItem",
    "CheckOutcome",
    "DataFile",
    "DataFileError",
    "DataFileErrorCode",
    "InvoicingParty",
    "Item",
    "PayerParty",
    "SignatureCheck",
    "SignatureInfo",
    "SignatureRole",
    "SupervisedSigning",
    "canonical_bytes",
    "datafile_add_signature",
    "datafile_bytes_to_sign",
    "datafile_load",
    "datafile_parse",
    "datafile_sign",
    "datafile_sign_and_supervise",
    "datafile_sign_and_supervise_many",
    "datafile_signed_bytes",
    "datafile_supervise",
    "datafile_validate",
    "datafile_verify_signature",
    "einvoice_id",
    "receipt_xml_build",
    "schema_path",
]
