"""Runs one SDK scenario in the interpreter of a fresh venv (where only imagegate-client and
its dependencies are installed) and prints its outcome as JSON for the test to check."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import imagegate_client as ig


def generate(base_url: str, key: str, out: str) -> dict[str, object]:
    with ig.Client(base_url=base_url, api_key=key) as client:
        job = client.images.generate("a lighthouse at dusk", n=2, size="256x256")
        paths = [str(image.save(Path(out) / f"sync-{i}.png")) for i, image in enumerate(job.images)]
        return {"status": job.status, "paths": paths, "remaining": client.me().remaining}


async def agenerate(base_url: str, key: str, out: str) -> dict[str, object]:
    async with ig.AsyncClient(base_url=base_url, api_key=key) as client:
        job = await client.images.generate("a harbour at dawn", n=2, size="256x256")
        paths = [
            str(await image.save(Path(out) / f"async-{i}.png"))
            for i, image in enumerate(job.images)
        ]
        return {"status": job.status, "paths": paths, "remaining": (await client.me()).remaining}


def refused(base_url: str, key: str, out: str, **options: object) -> dict[str, object]:
    with ig.Client(base_url=base_url, api_key=key) as client:
        try:
            client.images.generate("a refused picture", **options)  # type: ignore[arg-type]
        except ig.ImagegateError as exc:
            return {
                "type": type(exc).__name__,
                "code": exc.code,
                "status": exc.status,
                "retry_after": getattr(exc, "retry_after", None),
                "remaining": getattr(exc, "remaining", None),
                "errors": getattr(exc, "errors", None),
                "job": getattr(getattr(exc, "job", None), "raw", None),
            }
    return {"type": None}


def generate_once(base_url: str, key: str, out: str) -> dict[str, object]:
    with ig.Client(base_url=base_url, api_key=key) as client:
        job = client.images.generate("a lost answer", size="256x256")
        return {"status": job.status, "id": job.id}


def stream(base_url: str, key: str, out: str) -> dict[str, object]:
    """Submit without waiting, then follow the job's event stream; the first status is
    printed on its own line at once, so the test can start a worker after seeing it."""
    with ig.Client(base_url=base_url, api_key=key) as client:
        job = client.images.generate("a stream of events", size="256x256", wait=False)
        statuses = []
        for update in client.jobs.stream(job.id):
            if not statuses:
                print(update.status, flush=True)
            if not statuses or statuses[-1] != update.status:
                statuses.append(update.status)
        return {"statuses": statuses}


SCENARIOS = {
    "generate": generate,
    "agenerate": lambda *args: asyncio.run(agenerate(*args)),
    "submit": lambda *args: refused(*args, size="256x256"),
    "invalid": lambda *args: refused(*args, n=0, quality="best"),
    "timeout": lambda *args: refused(*args, size="256x256", timeout=1.0),
    "generate_once": generate_once,
    "stream": stream,
}

if __name__ == "__main__":
    name, base_url, key, out = sys.argv[1:5]
    print(json.dumps(SCENARIOS[name](base_url, key, out)))
