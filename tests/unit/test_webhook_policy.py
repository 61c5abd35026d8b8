"""What follows a delivery attempt: delivered, stopped, retried later, or given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from domain.webhook_delivery import (
    Outcome,
    RetryPolicy,
    SendResult,
    attempt_json,
    decide,
    deliver_once,
)
from domain.webhook_signing import derive_secret
from tests.fakes.clock import FrozenClock

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy()


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    decision = decide(status, 1, NOW, POLICY)
    assert decision.outcome is Outcome.DELIVERED
    assert decision.next_attempt_at is None


def test_410_stops_even_with_attempts_left() -> None:
    assert decide(410, 1, NOW, POLICY).outcome is Outcome.STOPPED


@pytest.mark.parametrize("status", [None, 301, 302, 307, 400, 404, 429, 500, 503])
def test_everything_else_is_retried(status: int | None) -> None:
    decision = decide(status, 1, NOW, POLICY)
    assert decision.outcome is Outcome.RETRY
    assert decision.next_attempt_at == NOW + timedelta(seconds=5)


def test_backoff_grows_4x_capped_at_an_hour_and_gives_up_after_max_attempts() -> None:
    waits = [
        (decide(500, n, NOW, POLICY).next_attempt_at or NOW) - NOW
        for n in range(1, POLICY.max_attempts)
    ]
    assert [w.total_seconds() for w in waits] == [5, 20, 80, 320, 1280, 3600, 3600]
    assert decide(500, POLICY.max_attempts, NOW, POLICY).outcome is Outcome.GAVE_UP
    assert decide(None, 3, NOW, RetryPolicy(max_attempts=3)).outcome is Outcome.GAVE_UP
    assert RetryPolicy(base_seconds=0.1).delay_after(2) == timedelta(seconds=0.4)


class ScriptedSender:
    def __init__(self, result: SendResult) -> None:
        self.result = result
        self.sent: list[tuple[str, dict[str, str], bytes]] = []

    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        self.sent.append((url, headers, body))
        return self.result


def test_deliver_once_signs_with_this_attempts_time_and_records_the_attempt() -> None:
    clock = FrozenClock(datetime.now(UTC))
    secret = derive_secret("master", "key_a")
    sender = ScriptedSender(SendResult(status_code=503, error=None, duration_ms=12))
    attempt, decision = deliver_once(
        url="https://hooks.example.com/",
        webhook_id="msg_1",
        body=b'{"type":"job.succeeded"}',
        secret=secret,
        attempt_number=2,
        sender=sender,
        clock=clock,
        policy=POLICY,
    )
    _, headers, body = sender.sent[0]
    assert Webhook(secret).verify(body, headers) == {"type": "job.succeeded"}
    assert headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert (attempt.status_code, attempt.error, attempt.duration_ms) == (503, "HTTP 503", 12)
    assert decision.outcome is Outcome.RETRY
    assert decision.next_attempt_at == clock.now() + timedelta(seconds=20)
    rendered = attempt_json(attempt)
    assert rendered["at"].endswith("Z")
    assert rendered["status_code"] == 503


def test_deliver_once_keeps_the_senders_error_for_no_answer() -> None:
    sender = ScriptedSender(SendResult(status_code=None, error="timeout", duration_ms=10_000))
    attempt, decision = deliver_once(
        url="https://hooks.example.com/",
        webhook_id="msg_1",
        body=b"{}",
        secret=derive_secret("master", "key_a"),
        attempt_number=8,
        sender=sender,
        clock=FrozenClock(NOW),
        policy=POLICY,
    )
    assert (attempt.status_code, attempt.error) == (None, "timeout")
    assert decision.outcome is Outcome.GAVE_UP
