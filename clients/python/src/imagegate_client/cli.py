"""`imagegate-client`: generate images, show the key's balance, list its jobs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from imagegate_client._sync import Client
from imagegate_client.errors import ImagegateError, QuotaExceeded
from imagegate_client.models import Job


class StatusLine:
    """One line rewritten in place on a terminal; plain lines on a change elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._started = time.monotonic()
        self._last = ""

    def __call__(self, job: Job) -> None:
        text = f"{job.id}: {job.status}"
        if job.status == "queued" and job.queue_position is not None:
            text += f", {job.queue_position} ahead"
            eta = (job.queue or {}).get("eta_seconds")
            if eta is not None:
                text += f", about {eta:.0f}s"
        if self._live:
            elapsed = time.monotonic() - self._started
            self._stream.write(f"\r\x1b[2K{text} ({elapsed:.0f}s)")
        elif text != self._last:
            self._stream.write(text + "\n")
        self._stream.flush()
        self._last = text

    def done(self) -> None:
        if self._live and self._last:
            self._stream.write("\n")


def _targets(output: Path, count: int) -> list[Path]:
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{index}{output.suffix}") for index in range(count)]


def _generate(client: Client, args: argparse.Namespace) -> int:
    line = StatusLine(sys.stderr)
    try:
        job = client.images.generate(
            args.prompt, n=args.n, size=args.size, quality=args.quality,
            output_format=args.format, timeout=args.timeout, on_update=line,
        )  # fmt: skip
    finally:
        line.done()
    for image, target in zip(job.images, _targets(Path(args.output), len(job.images)), strict=True):
        image.save(target)
        print(f"saved {target} ({image.content_type}, {image.size} bytes)")
    _balance(client)
    return 0


def _balance(client: Client) -> None:
    me = client.me()
    refill = f"; next refill {me.next_refill_at}" if me.next_refill_at else ""
    print(f"credits remaining: {me.remaining}{refill}")


def _jobs(client: Client, args: argparse.Namespace) -> int:
    page = client.jobs.list(limit=args.limit)
    for job in page.data:
        prompt = str(job.request.get("prompt", ""))
        print(f"{job.id}  {job.status:<9}  {job.created_at}  n={job.request.get('n')}  {prompt!r}")
    if not page.data:
        print("no jobs yet")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="imagegate-client", description=__doc__)
    root.add_argument("--base-url", help="default: IMAGEGATE_BASE_URL or http://127.0.0.1:8000")
    root.add_argument("--api-key", help="default: IMAGEGATE_API_KEY")
    commands = root.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate images and save them")
    generate.add_argument("prompt")
    generate.add_argument("-o", "--output", required=True, help="file to write (n>1: name-i.ext)")
    generate.add_argument("--n", type=int, default=1)
    generate.add_argument("--size")
    generate.add_argument("--quality", choices=["low", "medium", "high", "auto"])
    generate.add_argument("--format", choices=["png", "jpeg", "webp"])
    generate.add_argument("--timeout", type=float, help="cancel the job after this many seconds")
    commands.add_parser("me", help="the key's credits and next refill")
    jobs = commands.add_parser("jobs", help="the key's recent jobs")
    jobs.add_argument("--limit", type=int, default=20)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with Client(base_url=args.base_url, api_key=args.api_key) as client:
            if args.command == "generate":
                return _generate(client, args)
            if args.command == "jobs":
                return _jobs(client, args)
            _balance(client)
            return 0
    except QuotaExceeded as exc:
        when = f"; credits come back in {exc.retry_after:.0f}s" if exc.retry_after else ""
        print(f"imagegate-client: out of credits{when}", file=sys.stderr)
        return 1
    except ImagegateError as exc:
        print(f"imagegate-client: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
