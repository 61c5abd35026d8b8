"""The queue ETA estimator: ceil((position + 1) / capacity) rounds of the median run."""

from __future__ import annotations

from domain.queue_eta import QueuePlace, QueueStats, queue_place, queued_eta, running_eta

STATS = QueueStats(recent_run_seconds=(10.0, 2.0, 4.0, 100.0, 4.0), capacity=2)  # median 4


def test_queued_eta_counts_rounds_of_the_typical_run() -> None:
    assert STATS.typical_run_seconds == 4.0
    assert queued_eta(0, STATS) == 4  # next: starts at once on a free slot, runs ~4 s
    assert queued_eta(1, STATS) == 4  # the second slot runs it alongside
    assert queued_eta(2, STATS) == 8
    assert queued_eta(5, STATS) == 12
    assert queue_place(3, STATS) == QueuePlace(position=3, eta_seconds=8)


def test_fractions_round_up() -> None:
    stats = QueueStats(recent_run_seconds=(1.2,), capacity=1)
    assert queued_eta(0, stats) == 2
    assert queued_eta(2, stats) == 4  # 3 * 1.2 = 3.6


def test_unknown_is_none_not_a_guess() -> None:
    assert queued_eta(0, QueueStats(recent_run_seconds=(), capacity=4)) is None
    assert queued_eta(0, QueueStats(recent_run_seconds=(3.0,), capacity=0)) is None
    assert running_eta(1.0, QueueStats(recent_run_seconds=(), capacity=4)) is None


def test_running_eta_is_what_is_left_of_a_typical_run_never_negative() -> None:
    assert running_eta(1.5, STATS) == 3
    assert running_eta(4.0, STATS) == 0
    assert running_eta(60.0, STATS) == 0
    # Capacity does not matter once running: no worker left still leaves an estimate.
    assert running_eta(0.0, QueueStats(recent_run_seconds=(7.0,), capacity=0)) == 7
