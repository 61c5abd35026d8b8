"""Typed results. They keep the whole JSON in `.raw`, so fields the server adds later are
still reachable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})


@dataclass(frozen=True)
class Image:
    """One generated image; `read()` fetches its bytes (once), `save(path)` writes them."""

    url: str
    content_type: str
    size: int  # bytes
    _fetch: Callable[[str], bytes] = field(repr=False, compare=False)
    _cache: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def read(self) -> bytes:
        if "data" not in self._cache:
            self._cache["data"] = self._fetch(self.url)
        return self._cache["data"]

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.read())
        return target


@dataclass(frozen=True)
class AsyncImage:
    """The AsyncClient's image: `await image.read()`, `await image.save(path)`."""

    url: str
    content_type: str
    size: int  # bytes
    _fetch: Callable[[str], Awaitable[bytes]] = field(repr=False, compare=False)
    _cache: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    async def read(self) -> bytes:
        if "data" not in self._cache:
            self._cache["data"] = await self._fetch(self.url)
        return self._cache["data"]

    async def save(self, path: str | Path) -> Path:
        target = Path(path)
        await asyncio.to_thread(target.write_bytes, await self.read())
        return target


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    created_at: str
    request: dict[str, Any]
    credits: dict[str, int]
    images: list[Any]  # Image for Client, AsyncImage for AsyncClient
    error: dict[str, str] | None
    queue: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def queue_position(self) -> int | None:
        return (self.queue or {}).get("position")

    @classmethod
    def from_json(cls, data: dict[str, Any], make_image: Callable[[dict[str, Any]], Any]) -> Job:
        return cls(
            id=data["id"],
            status=data["status"],
            created_at=data.get("created_at", ""),
            request=dict(data.get("request") or {}),
            credits=dict(data.get("credits") or {}),
            images=[make_image(image) for image in data.get("images") or []],
            error=data.get("error"),
            queue=data.get("queue"),
            raw=data,
        )


@dataclass(frozen=True)
class JobPage:
    data: list[Job]
    next_cursor: str | None


@dataclass(frozen=True)
class Me:
    key_id: str
    start: str
    remaining: int | None
    next_refill_at: str | None
    refill: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Me:
        credits = data.get("credits") or {}
        return cls(
            key_id=data["key_id"],
            start=data.get("start", ""),
            remaining=credits.get("remaining"),
            next_refill_at=credits.get("next_refill_at"),
            refill=credits.get("refill"),
            raw=data,
        )


@dataclass(frozen=True)
class Quote:
    credits: int
    remaining: int | None
    affordable: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quote:
        return cls(int(data["credits"]), data.get("remaining"), bool(data["affordable"]))


@dataclass(frozen=True)
class Usage:
    """`GET /v1/me/usage`: ledger entries newest first, and totals (or day buckets)."""

    data: list[dict[str, Any]]
    next_cursor: str | None
    totals: dict[str, int] | None
    buckets: list[dict[str, Any]] | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        return cls(
            data=list(data.get("data") or []),
            next_cursor=data.get("next_cursor"),
            totals=data.get("totals"),
            buckets=data.get("buckets"),
        )


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event."""

    event: str
    data: str
    id: str | None = None
