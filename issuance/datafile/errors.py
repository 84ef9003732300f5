"""The one exception of the data file package, with a machine-readable code."""

from __future__ import annotations

from enum import StrEnum


class DataFileErrorCode(StrEnum):
    NOT_BYTES = "DATAFILE_NOT_BYTES"
    TOO_LARGE = "DATAFILE_TOO_LARGE"
    NOT_WELL_FORMED = "DATAFILE_NOT_WELL_FORMED"
    FORBIDDEN_CONSTRUCT = "DATAFILE_FORBIDDEN_CONSTRUCT"
    NOT_UTF8 = "DATAFILE_NOT_UTF8"
    UNSUPPORTED_VERSION = "DATAFILE_UNSUPPORTED_VERSION"
    SCHEMA_INVALID = "DATAFILE_SCHEMA_INVALID"
    INCONSISTENT = "DATAFILE_INCONSISTENT"
    UNREPRESENTABLE = "DATAFILE_UNREPRESENTABLE"
    SIGNATURE_STATE = "DATAFILE_SIGNATURE_STATE"
    SIGNATURE_ARGUMENT = "DATAFILE_SIGNATURE_ARGUMENT"
    UNIT_SIGNATURE_INVALID = "DATAFILE_UNIT_SIGNATURE_INVALID"
    NUMBER_NOT_UNIQUE = "DATAFILE_NUMBER_NOT_UNIQUE"


class DataFileError(ValueError):
    """A data file that cannot be built, read, validated or signed.

    ``line`` is the 1-based line of the document where the problem was found, when known;
    ``path`` the XPath of the element concerned, when known.
    """

    def __init__(self, code: DataFileErrorCode, message: str, *, line: int | None = None, path: str = "") -> None:
        self.code = code
        self.message = message
        self.line = line
        self.path = path
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.path:
            where.append(self.path)
        return f"{self.code}: {', '.join(where)}: {self.message}" if where else f"{self.code}: {self.message}"
