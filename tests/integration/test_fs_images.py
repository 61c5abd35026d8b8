"""The filesystem image store: atomic writes, safe ids, and purging expired jobs' images."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.fs_images import FilesystemImageStore
from domain.models import GeneratedImage

PNG = GeneratedImage(b"\x89PNG fake", "image/png")


def test_put_get_delete(tmp_path: Path) -> None:
    store = FilesystemImageStore(tmp_path)
    stored = store.put("job_a", 1, 0, PNG)
    assert (stored.size, stored.attempt) == (len(PNG.data), 1)
    assert store.get("job_a", 1, 0) == PNG.data
    assert store.get("job_a", 1, 1) is None
    assert store.get("../etc", 1, 0) is None  # an id from a URL cannot leave the root
    assert not [p for p in (tmp_path / "job_a" / "1").iterdir() if p.name.startswith(".tmp")]
    store.delete("job_a", 1)
    assert store.get("job_a", 1, 0) is None


def test_each_attempt_keeps_its_own_images(tmp_path: Path) -> None:
    store = FilesystemImageStore(tmp_path)
    store.put("job_a", 1, 0, PNG)
    store.put("job_a", 2, 0, GeneratedImage(b"second", "image/png"))
    store.delete("job_a", 1)  # the attempt that lost the job cleans up only its own bytes
    assert store.get("job_a", 1, 0) is None
    assert store.get("job_a", 2, 0) == b"second"


def test_purge_removes_only_jobs_stored_before_the_cutoff(tmp_path: Path) -> None:
    store = FilesystemImageStore(tmp_path)
    store.put("job_old", 1, 0, PNG)
    store.put("job_new", 1, 0, PNG)
    two_days_ago = time.time() - 2 * 86_400
    os.utime(tmp_path / "job_old", (two_days_ago, two_days_ago))
    (tmp_path / "not a job").mkdir()
    os.utime(tmp_path / "not a job", (two_days_ago, two_days_ago))
    assert store.purge(datetime.now(UTC) - timedelta(days=1), limit=10) == 1
    assert store.get("job_old", 1, 0) is None
    assert store.get("job_new", 1, 0) == PNG.data
    assert (tmp_path / "not a job").is_dir()  # only what looks like ours is deleted
    assert FilesystemImageStore(tmp_path / "missing").purge(datetime.now(UTC), limit=10) == 0
