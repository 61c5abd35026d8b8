"""A worker's dependencies are built once per process, whichever threads ask, and closed at
shutdown only if they were built."""

from __future__ import annotations

import threading

from worker.startup import BuiltOnce


def test_many_threads_asking_at_once_get_one_build() -> None:
    builds: list[object] = []
    gate = threading.Barrier(8)

    def build() -> object:
        builds.append(object())
        return builds[-1]

    deps = BuiltOnce(build, lambda _: None)
    got: list[object] = []

    def ask() -> None:
        gate.wait()
        got.append(deps())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert got == builds * 8


def test_close_closes_what_was_built_and_nothing_before() -> None:
    closed: list[str] = []
    deps = BuiltOnce(lambda: "deps", closed.append)
    deps.close()
    assert closed == []
    assert deps() == "deps"
    deps.close()
    assert closed == ["deps"]
