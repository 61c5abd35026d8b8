"""The webhook delivery log in Redis.

Keys (prefix `ig`, like the jobs):
- `ig:webhook:{id}` — hash: the delivery (subject, event, url, signer, body, state, times,
  `round_attempts`, and the current claim's `lease_token`);
- `ig:webhook:{id}:attempts` — list of attempt JSON, appended atomically with the state change;
- `ig:webhooks:{subject}` — sorted set of the subject's delivery ids, by creation time;
- `ig:webhooks:due` — sorted set of pending delivery ids by when they are next due (ms).

Workers `claim_due` (webhook_claim.lua): due ids move to the end of a short lease in one atomic
step, so racing workers never share a delivery, and a crashed worker's delivery is due again
when its lease ends. `record` (webhook_record.lua) appends the attempt and applies the decision
only if the claim is still current. Everything per delivery expires with the job (`ttl`); ids
left in the due set by expired deliveries are dropped when claimed.

`RedisWebhookLog` is the worker's sync view; `AsyncRedisWebhookLog` the API's (add, list,
redeliver). The Lua is loaded by the local `_script` helper from `adapters/lua/`.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.asyncio as aioredis

from adapters.redis_jobs_codec import ms
from adapters.redis_ops import load_script, store_errors
from domain.webhook_delivery import Attempt, Decision, Outcome
from domain.webhook_log import ClaimedDelivery, Delivery, DeliveryState

DEFAULT_LEASE = timedelta(seconds=60)  # > the 10 s delivery timeout, with room for a slow worker


CLAIM_LUA = load_script("webhook_claim.lua")
RECORD_LUA = load_script("webhook_record.lua")
REDELIVER_LUA = load_script("webhook_redeliver.lua")


class WebhookKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.due = f"{prefix}:webhooks:due"

    def delivery(self, delivery_id: str) -> str:
        return f"{self.prefix}:webhook:{delivery_id}"

    def attempts(self, delivery_id: str) -> str:
        return f"{self.prefix}:webhook:{delivery_id}:attempts"

    def subject(self, subject_id: str) -> str:
        return f"{self.prefix}:webhooks:{subject_id}"


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def _moment(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_attempt(attempt: Attempt) -> str:
    return json.dumps(
        {
            "at": _iso(attempt.at),
            "status_code": attempt.status_code,
            "error": attempt.error,
            "duration_ms": attempt.duration_ms,
        }
    )


def decode_attempt(raw: Any) -> Attempt:
    data = json.loads(raw)
    return Attempt(
        datetime.fromisoformat(data["at"]), data["status_code"], data["error"], data["duration_ms"]
    )


def encode_delivery(delivery: Delivery) -> dict[str, str | bytes | int]:
    return {
        "id": delivery.id,
        "subject_id": delivery.subject_id,
        "event": delivery.event,
        "url": delivery.url,
        "signer": delivery.signer,
        "body": delivery.body,
        "created_at": _iso(delivery.created_at),
        "state": delivery.state.value,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "delivered_at": _iso(delivery.delivered_at),
        "round_attempts": delivery.round_attempts,
    }


def decode_delivery(fields: dict[Any, Any], attempts: list[Any]) -> Delivery | None:
    if not fields:
        return None
    text = {_text(k): v for k, v in fields.items()}
    created_at = datetime.fromisoformat(_text(text["created_at"]))
    return Delivery(
        id=_text(text["id"]),
        subject_id=_text(text["subject_id"]),
        event=_text(text["event"]),
        url=_text(text["url"]),
        signer=_text(text["signer"]),
        body=text["body"] if isinstance(text["body"], bytes) else str(text["body"]).encode(),
        created_at=created_at,
        state=DeliveryState(_text(text["state"])),
        next_attempt_at=_moment(_text(text.get("next_attempt_at", ""))),
        delivered_at=_moment(_text(text.get("delivered_at", ""))),
        round_attempts=int(text.get("round_attempts", 0)),
        attempts=tuple(decode_attempt(a) for a in attempts),
    )


def _queue_add(pipe: Any, keys: WebhookKeys, delivery: Delivery, ttl: timedelta) -> None:
    """The commands that record a new delivery (on a sync or an async pipeline)."""
    due = delivery.next_attempt_at or delivery.created_at
    seconds = max(1, int(ttl.total_seconds()))
    pipe.hset(keys.delivery(delivery.id), mapping=encode_delivery(delivery))
    pipe.expire(keys.delivery(delivery.id), seconds)
    pipe.zadd(keys.subject(delivery.subject_id), {delivery.id: ms(delivery.created_at)})
    pipe.expire(keys.subject(delivery.subject_id), seconds)
    pipe.zadd(keys.due, {delivery.id: ms(due)})


def _queue_reads(pipe: Any, keys: WebhookKeys, ids: list[str]) -> None:
    for delivery_id in ids:
        pipe.hgetall(keys.delivery(delivery_id))
        pipe.lrange(keys.attempts(delivery_id), 0, -1)


def _decode_reads(replies: list[Any]) -> list[Delivery]:
    found = (decode_delivery(replies[i], replies[i + 1]) for i in range(0, len(replies), 2))
    return [d for d in found if d is not None]


def _redeliver_args(keys: WebhookKeys, subject_id: str, delivery_id: str, now: datetime) -> Any:
    return {
        "keys": [keys.delivery(delivery_id), keys.due],
        "args": [subject_id, _iso(now), ms(now), delivery_id],
    }


class RedisWebhookLog:
    """The worker's view (sync). Satisfies `domain.webhook_log.WebhookLog`."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl: timedelta,
        prefix: str = "ig",
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._redis = client
        self._keys = WebhookKeys(prefix)
        self._ttl = ttl
        self._lease = lease
        self._claim = client.register_script(CLAIM_LUA)
        self._record = client.register_script(RECORD_LUA)
        self._redeliver = client.register_script(REDELIVER_LUA)

    def add(self, delivery: Delivery) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            _queue_add(pipe, self._keys, delivery, self._ttl)
            pipe.execute()

    def add_new(self, delivery: Delivery) -> bool:
        """`add`, unless the delivery exists. Two passes over one note may race to add the same
        delivery; a second write after the first was claimed would make it due again (a second
        attempt), so the look and the write are one transaction: WATCH, then MULTI/EXEC."""
        record = self._keys.delivery(delivery.id)
        with self._redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(record)  # type: ignore[no-untyped-call]
                if pipe.exists(record):
                    return False
                pipe.multi()
                _queue_add(pipe, self._keys, delivery, self._ttl)
                pipe.execute()
            except redis.WatchError:  # another pass added (or claimed) it since we looked
                return False
        return True

    def claim_due(self, now: datetime, *, limit: int) -> list[ClaimedDelivery]:
        token_base = secrets.token_hex(8)
        args: list[str | int] = [
            ms(now),
            ms(now + self._lease),
            limit,
            self._keys.prefix,
            token_base,
        ]
        reply = self._claim(keys=[self._keys.due], args=args)
        tokens = {_text(reply[i]): _text(reply[i + 1]) for i in range(0, len(reply), 2)}
        with self._redis.pipeline(transaction=False) as pipe:
            _queue_reads(pipe, self._keys, list(tokens))
            deliveries = _decode_reads(pipe.execute())
        return [ClaimedDelivery(d, tokens[d.id]) for d in deliveries]

    def record(self, claim: ClaimedDelivery, attempt: Attempt, decision: Decision) -> bool:
        delivery_id = claim.delivery.id
        retry_at = decision.next_attempt_at if decision.outcome is Outcome.RETRY else None
        outcome = {
            Outcome.RETRY: "retry",
            Outcome.DELIVERED: DeliveryState.DELIVERED.value,
            Outcome.GAVE_UP: DeliveryState.GAVE_UP.value,
            Outcome.STOPPED: DeliveryState.STOPPED.value,
        }[decision.outcome]
        keys = self._keys
        args: list[str | int] = [
            claim.token,
            encode_attempt(attempt),
            outcome,
            _iso(retry_at),
            ms(retry_at) if retry_at else 0,
            _iso(attempt.at),
            delivery_id,
        ]
        reply = self._record(
            keys=[keys.delivery(delivery_id), keys.attempts(delivery_id), keys.due], args=args
        )
        return _text(reply) == "recorded"

    def get(self, delivery_id: str) -> Delivery | None:
        with self._redis.pipeline(transaction=False) as pipe:
            _queue_reads(pipe, self._keys, [delivery_id])
            found = _decode_reads(pipe.execute())
        return found[0] if found else None

    def deliveries(self, subject_id: str) -> list[Delivery]:
        ids = [_text(i) for i in self._redis.zrange(self._keys.subject(subject_id), 0, -1)]
        with self._redis.pipeline(transaction=False) as pipe:
            _queue_reads(pipe, self._keys, ids)
            return _decode_reads(pipe.execute())

    def redeliver(self, subject_id: str, delivery_id: str, now: datetime) -> bool:
        return bool(self._redeliver(**_redeliver_args(self._keys, subject_id, delivery_id, now)))


class AsyncRedisWebhookLog:
    """The API's view (async): record job events, list a job's deliveries, redeliver."""

    def __init__(self, client: aioredis.Redis, *, ttl: timedelta, prefix: str = "ig") -> None:
        self._redis = client
        self._keys = WebhookKeys(prefix)
        self._ttl = ttl
        self._redeliver = client.register_script(REDELIVER_LUA)

    async def add(self, delivery: Delivery) -> None:
        with store_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                _queue_add(pipe, self._keys, delivery, self._ttl)
                await pipe.execute()

    async def deliveries(self, subject_id: str) -> list[Delivery]:
        with store_errors():
            listed = await self._redis.zrange(self._keys.subject(subject_id), 0, -1)
            async with self._redis.pipeline(transaction=False) as pipe:
                _queue_reads(pipe, self._keys, [_text(i) for i in listed])
                return _decode_reads(await pipe.execute())

    async def redeliver(self, subject_id: str, delivery_id: str, now: datetime) -> bool:
        args = _redeliver_args(self._keys, subject_id, delivery_id, now)
        with store_errors():
            return bool(await self._redeliver(**args))
