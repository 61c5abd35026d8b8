"""Job deadlines: the `Cancel-After` header or the body's `deadline_seconds`.

`Cancel-After` is `90`, `90s`, `5m` or `1h`: ASCII digits (no sign, no spaces, no leading
`+`), then at most one unit, matched in full. Both forms allow 1 s to 24 h. When a request
carries both, the body wins: it is the more specific, the one an SDK sets on purpose, while a
header may be added by a proxy or a default client configuration. Bad values are field errors
naming the header or the field, so the edge answers 422 before anything is charged.
"""

from __future__ import annotations

import re
from datetime import timedelta

from domain.errors import InvalidRequest

CANCEL_AFTER_HEADER = "Cancel-After"
DEADLINE_FIELD = "deadline_seconds"
MIN_DEADLINE_SECONDS = 1
MAX_DEADLINE_SECONDS = 86_400

# Exactly the values 1 s to 24 h, no leading zeros: 1-86400 (s optional), 1-1440m, 1-24h. The
# same text is the header's pattern in the OpenAPI document, so the two cannot disagree.
# [0-9], not \d (Unicode digits), and fullmatch, not $ (which matches before a newline).
CANCEL_AFTER_PATTERN = (
    r"([1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-5][0-9]{3}|86[0-3][0-9]{2}|86400)(s?)"
    r"|([1-9][0-9]{0,2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440)(m)"
    r"|([1-9]|1[0-9]|2[0-4])(h)"
)
_CANCEL_AFTER = re.compile(CANCEL_AFTER_PATTERN, re.ASCII)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}
_RANGE = f"between {MIN_DEADLINE_SECONDS} s and 24 h"


def parse_cancel_after(raw: str) -> timedelta:
    match = _CANCEL_AFTER.fullmatch(raw)
    if match is None:
        raise InvalidRequest(
            f"{CANCEL_AFTER_HEADER} must be a whole number of seconds, or end in s, m or h "
            "(90, 90s, 5m, 1h).",
            field=CANCEL_AFTER_HEADER,
        )
    groups = match.groups()  # (number, unit) for seconds, minutes, hours: one pair is set
    number, unit = next((n, u) for n, u in zip(groups[::2], groups[1::2], strict=True) if n)
    return _in_range(int(number) * _UNIT_SECONDS[unit], CANCEL_AFTER_HEADER)


def parse_deadline_seconds(raw: object) -> timedelta:
    # bool is an int subclass: `true` is not a deadline.
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise InvalidRequest(f"{DEADLINE_FIELD} must be an integer.", field=DEADLINE_FIELD)
    return _in_range(raw, DEADLINE_FIELD)


def resolve_deadline(header: str | None, body_seconds: object | None) -> timedelta | None:
    """The job's deadline from the request, or None. Both are validated even though the body
    wins, so a malformed header is never silently ignored."""
    from_header = parse_cancel_after(header) if header is not None else None
    if body_seconds is not None:
        return parse_deadline_seconds(body_seconds)
    return from_header


def _in_range(seconds: int, field: str) -> timedelta:
    if not MIN_DEADLINE_SECONDS <= seconds <= MAX_DEADLINE_SECONDS:
        raise InvalidRequest(f"{field} must be {_RANGE}.", field=field)
    return timedelta(seconds=seconds)
