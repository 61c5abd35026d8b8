"""kombu's Redis transport, with one sync client per channel instead of one per operation.

kombu's `Channel.conn_or_acquire` builds a new `redis.Redis` for every operation that is not
given a client: with acks late that is twice per task (`QoS.append` when a message is delivered,
`QoS.ack` when its task ends), and `Redis.__init__` copies the response callbacks each time —
about 4 % of a worker's CPU per job in `python -m bench.profile jobs`. The clients share the
channel's connection pool either way, and a `redis.Redis` is safe to share between threads
(each command takes a connection from the pool), so keeping one changes nothing else: the same
commands, the same round trips, the same acknowledgement semantics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from kombu.transport import redis as kombu_redis

TRANSPORT = "adapters.kombu_redis:Transport"  # Celery's `broker_transport`, by name


class Channel(kombu_redis.Channel):
    @cached_property
    def _shared_client(self) -> Any:
        return self._create_client()  # type: ignore[no-untyped-call]

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        yield client or self._shared_client


class Transport(kombu_redis.Transport):
    Channel = Channel
