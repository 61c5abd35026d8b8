"""The test-port helper: xdist workers of one run draw from disjoint sets, never the kernel's."""

from __future__ import annotations

import itertools
import socket

import pytest

from tests import ports


def _drawn(monkeypatch: pytest.MonkeyPatch, worker: str, count: int) -> set[int]:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))
    return set(itertools.islice(ports._candidates(), 20000))


def test_the_workers_of_a_run_never_share_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = [_drawn(monkeypatch, f"gw{index}", 3) for index in range(3)]
    assert all(drawn)
    assert drawn[0].isdisjoint(drawn[1] | drawn[2])
    assert drawn[1].isdisjoint(drawn[2])
    assert all(20000 <= port < 32768 for port in set.union(*drawn))  # below ephemeral ranges


def test_a_port_someone_listens_on_is_not_free_and_a_handed_out_one_binds() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports.free_port()))
        busy.listen()
        assert not ports._is_free(busy.getsockname()[1])
        with socket.socket() as server:
            server.bind(("127.0.0.1", ports.free_port()))  # raises if it was taken
