"""DNS as a test double: a table whose answer for a name may change between lookups."""

from __future__ import annotations

from collections.abc import Sequence


class TableResolver:
    """Each lookup of a name takes the next answer of its series; the last one repeats (so
    `[["93.184.216.34"], ["127.0.0.1"]]` is a rebinding: global at submit, loopback after)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups = 0

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.lookups += 1
        series = self.answers[host]
        return series.pop(0) if len(series) > 1 else series[0]
