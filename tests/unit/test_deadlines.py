"""Deadlines from `Cancel-After` or `deadline_seconds`: strict parsing, named fields."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.deadlines import parse_cancel_after, parse_deadline_seconds, resolve_deadline
from domain.errors import InvalidRequest


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("5m", 300),
        ("1h", 3600),
        ("1", 1),
        ("24h", 86400),
        ("1440m", 86400),
    ],
)
def test_cancel_after_accepts(raw: str, seconds: int) -> None:
    assert parse_cancel_after(raw) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "raw",
    [
        "", "0", "0s", "25h", "86401", "1441m", "-5", "+5", " 5", "5 ", "5\n", "5S", "5ms",
        "1.5h", "5d", "\u0665", "\uff15", "1h30m", "s", "9999999",
    ],
)  # fmt: skip
def test_cancel_after_refuses_naming_the_header(raw: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_cancel_after(raw)
    assert refused.value.field == "Cancel-After"


def test_deadline_seconds_accepts_whole_seconds_in_range() -> None:
    assert parse_deadline_seconds(1) == timedelta(seconds=1)
    assert parse_deadline_seconds(86400) == timedelta(days=1)


@pytest.mark.parametrize("raw", [0, -1, 86401, 1.5, 60.0, "60", True, None, [60]])
def test_deadline_seconds_refuses_naming_the_field(raw: object) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_deadline_seconds(raw)
    assert refused.value.field == "deadline_seconds"


def test_the_body_wins_but_a_bad_header_is_still_refused() -> None:
    assert resolve_deadline(None, None) is None
    assert resolve_deadline("5m", None) == timedelta(minutes=5)
    assert resolve_deadline(None, 30) == timedelta(seconds=30)
    assert resolve_deadline("5m", 30) == timedelta(seconds=30)
    with pytest.raises(InvalidRequest) as refused:
        resolve_deadline("soon", 30)
    assert refused.value.field == "Cancel-After"
