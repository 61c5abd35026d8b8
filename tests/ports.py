"""Ports for the servers the tests start, and for "nothing listens here".

A port found by binding port 0 and closing is only free until someone else binds it, and the
kernel hands those out, and the local ends of outgoing connections, from one ephemeral range.
With `make test` running pytest-xdist workers side by side, two workers could be handed the
same port between the probe and the server's own bind (one server then fails to start, or a
test talks to another test's server). So ports come from below the ephemeral ranges (Linux
32768-60999, macOS and Windows 49152-65535), each xdist worker from its own residue class,
walked in order from a random start, and each is checked free before it is handed out.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

_FIRST, _END = 20000, 32768


def _worker() -> tuple[int, int]:
    """(index, count) of this pytest-xdist worker; (0, 1) outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(name[2:]) if name.startswith("gw") else 0
    return index, max(count, 1)


def _candidates() -> itertools.cycle[int]:
    index, count = _worker()
    first = _FIRST + (index - _FIRST) % count  # the lowest port p >= _FIRST with p % count == index
    ours = list(range(first, _END, count))
    # A random start keeps two sessions run side by side (not workers) from walking in step.
    start = random.randrange(len(ours))
    return itertools.cycle(ours[start:] + ours[:start])


_ports: itertools.cycle[int] | None = None  # built on first use, in the worker's process


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nothing listens on and no other worker of this run will be given."""
    global _ports
    if _ports is None:
        _ports = _candidates()
    for _ in range(2000):
        port = next(_ports)
        if _is_free(port):
            return port
    raise RuntimeError(f"no free port among {_FIRST}..{_END - 1} for this worker")
