"""The doctor's checks of what imagegate runs on: Redis, the broker, the image directory."""

from __future__ import annotations

import tempfile

import redis

from entrypoints.doctor.findings import Finding, fail, ok, redact, warn
from entrypoints.doctor.vendors import check_s3
from entrypoints.settings import Settings


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
