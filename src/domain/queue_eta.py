"""Queue position and ETA: an honest estimate, not a promise.

The typical run time is the median of the most recent run durations (robust to the odd slow
upstream call); capacity is the sum of the live workers' concurrency. A queued job at
`position` (0 = next) starts after `position` others, so it finishes in about
ceil((position + 1) / capacity) rounds of a typical run. A running job has about
typical - elapsed left. Unknown (no recent runs, or no live worker) → None, never a guess.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueStats:
    recent_run_seconds: tuple[float, ...]  # newest first, capped by the store
    capacity: int  # live workers' total concurrency

    @property
    def typical_run_seconds(self) -> float | None:
        return typical_run_seconds(self.recent_run_seconds)


@dataclass(frozen=True, slots=True)
class QueuePlace:
    position: int
    eta_seconds: int | None


def typical_run_seconds(durations: Sequence[float]) -> float | None:
    return statistics.median(durations) if durations else None


def queued_eta(position: int, stats: QueueStats) -> int | None:
    typical = stats.typical_run_seconds
    if typical is None or stats.capacity < 1 or position < 0:
        return None
    rounds = math.ceil((position + 1) / stats.capacity)
    return math.ceil(rounds * typical)


def running_eta(elapsed_seconds: float, stats: QueueStats) -> int | None:
    typical = stats.typical_run_seconds
    if typical is None:
        return None
    return max(0, math.ceil(typical - elapsed_seconds))


def queue_place(position: int, stats: QueueStats) -> QueuePlace:
    return QueuePlace(position=position, eta_seconds=queued_eta(position, stats))
