"""Image bytes on the local filesystem (or a volume shared by the API and the workers).

Files are `<root>/<job id>/<attempt>/<index>.img`: each attempt of a job writes its own
folder, so an attempt that lost its job deletes only what it wrote."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from domain.models import GeneratedImage, StoredImage
from domain.validation import is_safe_id


class FilesystemImageStore:
    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def _dir(self, job_id: str, attempt: int) -> Path:
        if not is_safe_id(job_id):  # ids come from URLs: never let one escape the root
            raise ValueError("invalid job id")
        return self._root / job_id / str(int(attempt))

    def put(self, job_id: str, attempt: int, index: int, image: GeneratedImage) -> StoredImage:
        directory = self._dir(job_id, attempt)
        directory.mkdir(parents=True, exist_ok=True)
        # Write-then-rename so a reader never sees half an image.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(image.data)
        os.replace(tmp, directory / f"{index}.img")
        return StoredImage(index, image.content_type, len(image.data), attempt)

    def get(self, job_id: str, attempt: int, index: int) -> bytes | None:
        try:
            return (self._dir(job_id, attempt) / f"{int(index)}.img").read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def delete(self, job_id: str, attempt: int) -> None:
        shutil.rmtree(self._dir(job_id, attempt), ignore_errors=True)

    def purge(self, before: datetime, limit: int) -> int:
        if not self._root.is_dir():
            return 0
        cutoff = before.timestamp()
        purged = 0
        for directory in self._root.iterdir():
            if purged >= limit:
                break
            try:
                stale = directory.is_dir() and directory.stat().st_mtime < cutoff
            except FileNotFoundError:  # another worker's sweeper got there first
                continue
            if stale and is_safe_id(directory.name):
                shutil.rmtree(directory, ignore_errors=True)
                purged += 1
        return purged

    def ping(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
