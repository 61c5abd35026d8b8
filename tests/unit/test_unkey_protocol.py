"""Unkey v2 verdicts → domain key statuses (the codes the fake Unkey cannot produce)."""

from __future__ import annotations

import pytest

from adapters.unkey_protocol import Verification, key_status
from domain.errors import QuotaUnavailable
from domain.models import KeyStatus


@pytest.mark.parametrize(
    ("valid", "code", "status"),
    [
        (True, "VALID", KeyStatus.VALID),
        (False, "RATE_LIMITED", KeyStatus.RATE_LIMITED),
        (False, "USAGE_EXCEEDED", KeyStatus.USAGE_EXCEEDED),
        (False, "INSUFFICIENT_PERMISSIONS", KeyStatus.FORBIDDEN),
        (False, "SOMETHING_NEWER", KeyStatus.FORBIDDEN),  # unknown codes are invalid
    ],
)
def test_verify_codes_map_to_key_statuses(valid: bool, code: str, status: KeyStatus):
    assert key_status(Verification(valid=valid, code=code)) is status


@pytest.mark.parametrize(("valid", "code"), [(True, "USAGE_EXCEEDED"), (False, "VALID")])
def test_a_self_contradicting_verdict_fails_closed(valid: bool, code: str):
    with pytest.raises(QuotaUnavailable):
        key_status(Verification(valid=valid, code=code))
