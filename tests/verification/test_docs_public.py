"""The documentation of public verification matches the code: error codes, endpoints, settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from verification.errors import VerificationError
from verification.urls import urlpatterns

DOCS = Path(__file__).resolve().parents[2] / "docs"
API_MD = (DOCS / "api.md").read_text(encoding="utf-8")
VERIFICATION_MD = (DOCS / "verification.md").read_text(encoding="utf-8")
SETTINGS = (
    "EREC_VERIFY_RATE_LIMIT",
    "EREC_VERIFY_RATE_WINDOW_SECONDS",
    "EREC_VERIFY_RATE_PER_RECEIPT_DAILY",
    "EREC_VERIFY_RATE_CAPTCHAS",
    "EREC_VERIFY_CAPTCHA_SECONDS",
    "EREC_VERIFY_DOWNLOAD_SECONDS",
    "EREC_VERIFY_VERDICT_CACHE_SECONDS",
    "EREC_TRUSTED_PROXY_COUNT",
)


@pytest.mark.parametrize("code", list(VerificationError), ids=str)
def test_every_error_code_is_in_the_api_guide(code: str) -> None:
    assert re.search(rf"^\| `{code}` \| \d{{3}} \|", API_MD, re.MULTILINE), f"{code} missing from docs/api.md"


@pytest.mark.parametrize("pattern", urlpatterns, ids=lambda p: str(p.pattern))
def test_every_endpoint_is_in_the_api_guide(pattern: Any) -> None:
    fixed_part = str(pattern.pattern).split("<", 1)[0]
    assert f"`/api/v1/{fixed_part}" in API_MD


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_in_the_verification_guide(name: str, settings: Any) -> None:
    assert hasattr(settings, name)
    assert f"`{name}`" in VERIFICATION_MD


def test_the_public_guide_exists_and_is_linked() -> None:
    assert (DOCS / "user-guide" / "public.md").exists()
    assert "user-guide/public.md" in VERIFICATION_MD
