"""`imagegate doctor`: check the configuration and every service it names, say what is wrong
and how to fix it. Exit code 0 when nothing failed (warnings allowed), 1 otherwise.

Every probe is cheap and read-only (or touches only a throwaway object), with a short timeout.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

import redis

from entrypoints.settings import ConfigError, Settings


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    detail: str
    fix: str | None = None


def ok(check: str, detail: str) -> Finding:
    return Finding(check, Level.OK, detail)


def warn(check: str, detail: str, fix: str | None = None) -> Finding:
    return Finding(check, Level.WARN, detail, fix)


def fail(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, Level.FAIL, detail, fix)


def redact(url: str) -> str:
    """A URL fit to print: the password (if any) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def check_redis(settings: Settings, timeout: float) -> list[Finding]:
    if not settings.redis_url:
        return [
            fail(
                "redis",
                "REDIS_URL is not set.",
                "Set REDIS_URL=redis://HOST:6379/0 (jobs, quota and the broker live there); "
                "`imagegate dev` starts an embedded Valkey instead.",
            )
        ]
    where = redact(settings.redis_url)
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        return [
            fail(
                "redis",
                f"{where} refused the credentials: {exc}",
                "Put the right password in REDIS_URL: redis://:PASSWORD@HOST:6379/0 "
                "(or redis://USER:PASSWORD@… with ACLs).",
            )
        ]
    except redis.RedisError as exc:
        return [
            fail(
                "redis",
                f"cannot reach Redis at {where} within {timeout:g}s ({type(exc).__name__}: {exc})",
                "Start Redis/Valkey, or correct the host, port and database in REDIS_URL "
                "(use rediss:// for TLS); check that no firewall is in the way.",
            )
        ]
    findings = [ok("redis", f"{where} answers PING")]
    findings.extend(_eviction_policy(client))
    client.close()
    return findings


def _eviction_policy(client: redis.Redis) -> list[Finding]:
    """Evicting keys would drop jobs, credits and queued messages under memory pressure."""
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.RedisError:  # managed services often forbid CONFIG: nothing to say
        return []
    if policy in (None, "noeviction"):
        return []
    return [
        warn(
            "redis",
            f"maxmemory-policy is {policy!r}: under memory pressure Redis would silently drop "
            "jobs, credits and queued messages.",
            "Set maxmemory-policy to noeviction (and size the instance; see docs/DEPLOY.md).",
        )
    ]


def check_broker(settings: Settings, timeout: float) -> list[Finding]:
    if not settings.celery_broker_url or settings.celery_broker_url == settings.redis_url:
        return (
            [ok("broker", "the Redis above (CELERY_BROKER_URL is REDIS_URL)")]
            if settings.redis_url
            else []
        )
    from entrypoints.celery_app import create_celery

    where = redact(settings.celery_broker_url)
    app = create_celery(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return [
            fail(
                "broker",
                f"cannot reach the broker at {where} ({type(exc).__name__}: {exc})",
                "Start the broker or correct CELERY_BROKER_URL "
                "(redis://HOST:6379/0 or amqp://USER:PASSWORD@HOST:5672/VHOST).",
            )
        ]
    finally:
        app.close()
    return [ok("broker", f"{where} accepts connections")]


def check_image_store(settings: Settings, timeout: float) -> list[Finding]:
    if settings.image_store_url:
        from entrypoints.doctor_vendors import check_s3

        return check_s3(settings, timeout)
    root = settings.image_store_dir.resolve()
    existing = next(path for path in (root, *root.parents) if path.exists())
    try:  # probe the directory, or the ancestor it will be created in: create nothing
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".imagegate-doctor-"):
            pass
    except OSError as exc:
        return [
            fail(
                "image store",
                f"cannot write to IMAGE_STORE_DIR={root} ({exc.strerror or exc} in {existing})",
                "Make the directory writable by the user that runs imagegate; with several "
                "hosts use a shared volume or IMAGE_STORE_URL=s3://bucket/prefix.",
            )
        ]
    state = "is writable" if existing == root else f"will be created in {existing}"
    return [ok("image store", f"{root} {state}")]


def diagnose(settings: Settings, timeout: float) -> list[Finding]:
    from entrypoints.doctor_vendors import check_openai, check_unkey

    checks: list[Callable[[Settings, float], list[Finding]]] = [
        check_redis,
        check_broker,
        check_image_store,
    ]
    if settings.quota_provider == "unkey":
        checks.append(check_unkey)
    if settings.image_generator == "openai":
        checks.append(check_openai)
    findings = [ok("configuration", settings.describe())]
    for check in checks:
        findings.extend(check(settings, timeout))
    return findings


def report(findings: list[Finding], out: TextIO) -> None:
    for finding in findings:
        print(f"{finding.level.value:>4}  {finding.check}: {finding.detail}", file=out)
        if finding.fix:
            print(f"      fix: {finding.fix}", file=out)
    failed = sum(1 for f in findings if f.level is Level.FAIL)
    warned = sum(1 for f in findings if f.level is Level.WARN)
    verdict = "all good" if not failed else f"{failed} problem(s) to fix"
    print(f"imagegate doctor: {verdict}" + (f", {warned} warning(s)" if warned else ""), file=out)


def run(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: str | Path | None = ".env",
    out: TextIO | None = None,
    timeout: float = 3.0,
) -> int:
    out = out or sys.stdout
    try:
        settings = Settings.from_env(environ, env_file=env_file)
    except ConfigError as exc:
        findings = [
            fail(
                "configuration",
                str(exc),
                "Fix that variable in the environment or in .env, then run `imagegate doctor` "
                "again (the other checks need a valid configuration).",
            )
        ]
    else:
        findings = diagnose(settings, timeout)
    report(findings, out)
    return 1 if any(f.level is Level.FAIL for f in findings) else 0


def probe_id() -> str:
    """A name no real key or object has: probes must never touch real data."""
    return "imagegate_doctor_" + uuid.uuid4().hex[:12]
