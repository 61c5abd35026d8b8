"""What a test can make the fake Unkey do: the fault, denied permissions, a fixed clock, and
the log of requests received (see `unkey_server`'s `/_fake/` endpoints)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Fault:
    mode: str = "none"
    status: int = 500
    delay: float = 0.0
    retry_after: int = 1
    times: int | None = None


@dataclass
class Controls:
    fault: Fault = field(default_factory=Fault)
    denied: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self) -> Fault:
        with self.lock:
            fault = self.fault
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.fault = Fault()
            return fault
