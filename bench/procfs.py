"""CPU time and memory of the stack's processes, read from /proc (Linux only).

A role (the API, a worker, Valkey) is a process and every process below it: the worker's
supervisor, the Celery main process and any pool children. CPU time is utime + stime of every
live process in the tree plus cutime + cstime (children that exited and were reaped), so a pool
child that dies between two samples still counts, once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ")".
    return raw.rsplit(")", 1)[1].split()


def parents() -> dict[int, int]:
    """pid → parent pid of every process now."""
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                found[int(entry.name)] = int(fields[1])
    return found


def tree(pid: int, ppids: Mapping[int, int] | None = None) -> list[int]:
    """`pid` and every live process descended from it."""
    ppids = parents() if ppids is None else ppids
    below: dict[int, list[int]] = {}
    for child, parent in ppids.items():
        below.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(below.get(current, []))
    return found


def children_of(pid: int) -> list[int]:
    return [child for child, parent in parents().items() if parent == pid]


def cpu_seconds(pids: Iterable[int]) -> float:
    """utime + stime + cutime + cstime, summed (fields 14-17 of /proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:  # gone since the tree was read: its time is in its parent's
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / _TICKS


def _status_kb(pid: int, name: str) -> int:
    try:
        lines = (PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def rss_mb(pids: Iterable[int]) -> float:
    """Resident set size now, summed (shared pages of forked children count in each)."""
    return sum(_status_kb(pid, "VmRSS") for pid in pids) / 1024


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size of one process so far."""
    kb = _status_kb(pid, "VmHWM")
    if not kb:
        raise RuntimeError(f"no VmHWM for {pid}")
    return kb / 1024


@dataclass
class CpuMeter:
    """CPU seconds per role between `start()` and `stop()`: `with CpuMeter(roles) as m: ...`,
    then `m.seconds` is {role: CPU seconds spent in that window}."""

    roles: Mapping[str, int]  # role → the pid at the top of its tree
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    _before: dict[str, float] = field(default_factory=dict)
    _started: float = 0.0

    def _sample(self) -> dict[str, float]:
        ppids = parents()
        return {role: cpu_seconds(tree(pid, ppids)) for role, pid in self.roles.items()}

    def start(self) -> CpuMeter:
        self._before = self._sample()
        self._started = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        after = self._sample()
        self.wall = time.monotonic() - self._started
        self.seconds = {role: after[role] - self._before[role] for role in self.roles}
        return self.seconds

    def __enter__(self) -> CpuMeter:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def per_unit_ms(self, count: int) -> dict[str, float]:
        """CPU milliseconds per request or job, by role and in all."""
        shares = {role: 1000 * spent / count for role, spent in self.seconds.items()}
        shares["total"] = sum(shares.values())
        return {role: round(ms, 3) for role, ms in shares.items()}

    def report(self, count: int | None = None) -> dict[str, object]:
        out: dict[str, object] = {
            "wall_s": round(self.wall, 2),
            "cpu_s": {role: round(spent, 3) for role, spent in self.seconds.items()},
        }
        if count:
            out["count"] = count
            out["ms_per"] = self.per_unit_ms(count)
        return out
