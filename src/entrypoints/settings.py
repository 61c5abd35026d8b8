"""Configuration: one frozen Settings read from the environment (and `.env`), validated once.

A missing or inconsistent setting raises ConfigError naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

from domain.errors import InvalidRequest
from domain.models import Plan, RefillInterval
from domain.validation import capabilities_for

DEFAULT_OPENAI_IMAGE_MODEL = "gpt-image-1.5"
PLACEHOLDER_MODEL = "placeholder"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def _truthy(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _integer(name: str, raw: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _number(name: str, raw: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _servable_model(name: str, model: str) -> None:
    """A retired or unknown model would refuse every job at submit: stop at startup instead."""
    try:
        capabilities_for(model)
    except InvalidRequest as exc:
        raise ConfigError(f"{name}: {exc.detail}") from None


def _s3_url(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    scheme, _, rest = raw.partition("://")
    if scheme != "s3" or not rest.split("/", 1)[0]:
        raise ConfigError(f"{name} must look like s3://bucket or s3://bucket/prefix, got {raw!r}")
    return raw


def _networks(name: str, raw: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            message = f"{name} must be comma-separated IPs or CIDRs, got {item!r}"
            raise ConfigError(message) from None
    return items


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    celery_broker_url: str | None = None
    quota_provider: str = "local"  # resolved: "local" or "unkey"
    unkey_root_key: str | None = field(default=None, repr=False)
    unkey_api_id: str | None = None
    unkey_base_url: str = "https://api.unkey.com"
    unkey_timeout_seconds: float = 5.0
    unkey_recoverable: bool = False
    image_generator: str = "placeholder"  # resolved: "placeholder" or "openai"
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    openai_image_model: str = DEFAULT_OPENAI_IMAGE_MODEL
    openai_timeout_seconds: float = 120.0
    openai_max_concurrency: int = 0  # 0: no global limit
    plan_credits: int = 10
    plan_refill_interval: RefillInterval = RefillInterval.DAILY
    plan_refill_amount: int = 10
    plan_refill_day: int = 1
    placeholder_delay_ms: int = 0
    image_store_dir: Path = Path("./var/images")
    image_store_url: str | None = None  # s3://bucket/prefix: object storage instead of the dir
    s3_endpoint_url: str | None = None
    worker_metrics_port: int = 0  # 0: workers serve no metrics
    job_ttl_seconds: int = 86_400
    sync_wait_seconds: float = 60.0
    cookie_secure: bool = True
    worker_concurrency: int = 100
    worker_pool: str = "threads"
    generation_max_retries: int = 4
    job_max_attempts: int = 6
    task_soft_time_limit: int = 300
    task_time_limit: int = 330
    mint_limit_per_address: int = 20  # keys per client address per hour
    mint_limit_global: int = 1000  # keys per hour in all
    trusted_proxies: tuple[str, ...] = ()
    job_lease_seconds: float = 30.0
    sweep_interval_seconds: float = 5.0
    sweep_grace_seconds: float = 30.0
    queued_recheck_seconds: float = 600.0
    redis_timeout_seconds: float = 2.0
    key_cache_seconds: float = 5.0  # how long an API process remembers a key's id (0: never)
    # Fault injection for the crash tests only (IMAGEGATE_FAULT=crash_before_enqueue).
    fault: str | None = None
    log_format: str = "json"
    log_level: str = "INFO"

    @property
    def plan(self) -> Plan:
        return Plan.build(
            self.plan_credits,
            self.plan_refill_interval,
            self.plan_refill_amount,
            self.plan_refill_day,
        )

    @property
    def broker_url(self) -> str:
        url = self.celery_broker_url or self.redis_url
        if url is None:
            raise ConfigError("REDIS_URL (or CELERY_BROKER_URL) must be set")
        return url

    @property
    def image_model(self) -> str:
        if self.image_generator == "openai":
            return self.openai_image_model
        return PLACEHOLDER_MODEL

    def require_redis(self) -> str:
        if not self.redis_url:
            raise ConfigError(
                "REDIS_URL must be set (or run `imagegate dev`, which starts an embedded Valkey)"
            )
        return self.redis_url

    def describe(self) -> str:
        """One line naming the active adapters; never a secret."""
        quota = f"quota={self.quota_provider}"
        if self.quota_provider == "unkey":
            quota += f" (api {self.unkey_api_id} at {self.unkey_base_url})"
        images = f"images={self.image_generator} (model {self.image_model})"
        return f"imagegate: {quota}, {images}, store={self.image_store_url or self.image_store_dir}"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Read settings: the process environment wins over `.env` in the working directory."""
        env: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        return cls._parse({k: v for k, v in env.items() if v != ""})

    @classmethod
    def _parse(cls, env: Mapping[str, str]) -> Settings:
        values: dict[str, object] = {}
        get = env.get
        if "HOST" in env:
            values["host"] = env["HOST"]
        if "PORT" in env:
            values["port"] = _integer("PORT", env["PORT"], minimum=1, maximum=65535)
        values["redis_url"] = get("REDIS_URL")
        values["celery_broker_url"] = get("CELERY_BROKER_URL")

        root_key, api_id = get("UNKEY_ROOT_KEY"), get("UNKEY_API_ID")
        quota = _choice("QUOTA_PROVIDER", get("QUOTA_PROVIDER", "auto"), ("auto", "local", "unkey"))
        if quota == "auto":
            quota = "unkey" if root_key and api_id else "local"
        if quota == "unkey":
            if not root_key:
                raise ConfigError("UNKEY_ROOT_KEY must be set when QUOTA_PROVIDER=unkey")
            if not api_id:
                raise ConfigError("UNKEY_API_ID must be set when QUOTA_PROVIDER=unkey")
        values.update(
            quota_provider=quota,
            unkey_root_key=root_key,
            unkey_api_id=api_id,
            unkey_base_url=get("UNKEY_BASE_URL", cls.unkey_base_url).rstrip("/"),
        )
        if "UNKEY_TIMEOUT_SECONDS" in env:
            values["unkey_timeout_seconds"] = _number(
                "UNKEY_TIMEOUT_SECONDS", env["UNKEY_TIMEOUT_SECONDS"], minimum=0.1
            )
        if "UNKEY_RECOVERABLE" in env:
            values["unkey_recoverable"] = _truthy("UNKEY_RECOVERABLE", env["UNKEY_RECOVERABLE"])

        openai_key = get("OPENAI_API_KEY")
        generator = _choice(
            "IMAGE_GENERATOR", get("IMAGE_GENERATOR", "auto"), ("auto", "placeholder", "openai")
        )
        if generator == "auto":
            generator = "openai" if openai_key else "placeholder"
        if generator == "openai" and not openai_key:
            raise ConfigError("OPENAI_API_KEY must be set when IMAGE_GENERATOR=openai")
        values.update(
            image_generator=generator,
            openai_api_key=openai_key,
            openai_base_url=get("OPENAI_BASE_URL"),
            openai_image_model=get("OPENAI_IMAGE_MODEL", DEFAULT_OPENAI_IMAGE_MODEL),
        )
        if generator == "openai":
            _servable_model("OPENAI_IMAGE_MODEL", str(values["openai_image_model"]))
        if "OPENAI_TIMEOUT_SECONDS" in env:
            values["openai_timeout_seconds"] = _number(
                "OPENAI_TIMEOUT_SECONDS", env["OPENAI_TIMEOUT_SECONDS"], minimum=1
            )
        if "OPENAI_MAX_CONCURRENCY" in env:
            values["openai_max_concurrency"] = _integer(
                "OPENAI_MAX_CONCURRENCY", env["OPENAI_MAX_CONCURRENCY"], minimum=0
            )

        interval_raw = _choice(
            "PLAN_REFILL_INTERVAL",
            get("PLAN_REFILL_INTERVAL", "daily"),
            tuple(i.value for i in RefillInterval),
        )
        values.update(
            plan_credits=_integer("PLAN_CREDITS", get("PLAN_CREDITS", "10"), minimum=0),
            plan_refill_interval=RefillInterval(interval_raw),
            plan_refill_amount=_integer(
                "PLAN_REFILL_AMOUNT", get("PLAN_REFILL_AMOUNT", "10"), minimum=1
            ),
            plan_refill_day=_integer(
                "PLAN_REFILL_DAY", get("PLAN_REFILL_DAY", "1"), minimum=1, maximum=31
            ),
            placeholder_delay_ms=_integer(
                "PLACEHOLDER_DELAY_MS", get("PLACEHOLDER_DELAY_MS", "0"), minimum=0
            ),
            image_store_dir=Path(get("IMAGE_STORE_DIR", "./var/images")),
            image_store_url=_s3_url("IMAGE_STORE_URL", get("IMAGE_STORE_URL")),
            s3_endpoint_url=get("S3_ENDPOINT_URL"),
            worker_metrics_port=_integer(
                "WORKER_METRICS_PORT", get("WORKER_METRICS_PORT", "0"), minimum=0, maximum=65535
            ),
            job_ttl_seconds=_integer(
                "JOB_TTL_SECONDS", get("JOB_TTL_SECONDS", "86400"), minimum=60
            ),
            sync_wait_seconds=_number("SYNC_WAIT_SECONDS", get("SYNC_WAIT_SECONDS", "60")),
            cookie_secure=_truthy("COOKIE_SECURE", get("COOKIE_SECURE", "true")),
            worker_concurrency=_integer(
                "WORKER_CONCURRENCY", get("WORKER_CONCURRENCY", "100"), minimum=1
            ),
            worker_pool=_choice(
                "WORKER_POOL", get("WORKER_POOL", "threads"), ("threads", "prefork", "solo")
            ),
            generation_max_retries=_integer(
                "GENERATION_MAX_RETRIES", get("GENERATION_MAX_RETRIES", "4"), minimum=0
            ),
            job_max_attempts=_integer("JOB_MAX_ATTEMPTS", get("JOB_MAX_ATTEMPTS", "6"), minimum=1),
            task_soft_time_limit=_integer(
                "TASK_SOFT_TIME_LIMIT", get("TASK_SOFT_TIME_LIMIT", "300"), minimum=1
            ),
            mint_limit_per_address=_integer(
                "MINT_LIMIT_PER_ADDRESS", get("MINT_LIMIT_PER_ADDRESS", "20"), minimum=1
            ),
            mint_limit_global=_integer(
                "MINT_LIMIT_GLOBAL", get("MINT_LIMIT_GLOBAL", "1000"), minimum=1
            ),
            trusted_proxies=_networks("TRUSTED_PROXIES", get("TRUSTED_PROXIES", "")),
            job_lease_seconds=_number(
                "JOB_LEASE_SECONDS", get("JOB_LEASE_SECONDS", "30"), minimum=1
            ),
            sweep_interval_seconds=_number(
                "SWEEP_INTERVAL_SECONDS", get("SWEEP_INTERVAL_SECONDS", "5"), minimum=0.1
            ),
            sweep_grace_seconds=_number(
                "SWEEP_GRACE_SECONDS", get("SWEEP_GRACE_SECONDS", "30"), minimum=0.5
            ),
            queued_recheck_seconds=_number(
                "QUEUED_RECHECK_SECONDS", get("QUEUED_RECHECK_SECONDS", "600"), minimum=1
            ),
            key_cache_seconds=_number("KEY_CACHE_SECONDS", get("KEY_CACHE_SECONDS", "5")),
            fault=get("IMAGEGATE_FAULT"),
            log_format=_choice("LOG_FORMAT", get("LOG_FORMAT", "json"), ("json", "text")),
            log_level=get("LOG_LEVEL", "INFO").upper(),
        )
        values["task_time_limit"] = int(values["task_soft_time_limit"]) + 30  # type: ignore[call-overload]
        if values["job_max_attempts"] <= values["generation_max_retries"]:  # type: ignore[operator]
            raise ConfigError(
                "JOB_MAX_ATTEMPTS must be greater than GENERATION_MAX_RETRIES "
                "(every retry is an attempt)"
            )
        return cls(**values)  # type: ignore[arg-type]

    def with_overrides(self, **changes: object) -> Settings:
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]


# Every environment variable the settings read (used by tests that check docker-compose.yml).
ENVIRONMENT_VARIABLES = frozenset(
    {
        "HOST", "PORT", "REDIS_URL", "CELERY_BROKER_URL", "QUOTA_PROVIDER", "UNKEY_ROOT_KEY",
        "UNKEY_API_ID", "UNKEY_BASE_URL", "UNKEY_TIMEOUT_SECONDS", "UNKEY_RECOVERABLE",
        "IMAGE_GENERATOR", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_IMAGE_MODEL",
        "OPENAI_TIMEOUT_SECONDS", "OPENAI_MAX_CONCURRENCY", "PLAN_CREDITS",
        "PLAN_REFILL_INTERVAL", "PLAN_REFILL_AMOUNT", "PLAN_REFILL_DAY", "PLACEHOLDER_DELAY_MS",
        "IMAGE_STORE_DIR", "JOB_TTL_SECONDS", "SYNC_WAIT_SECONDS", "COOKIE_SECURE",
        "IMAGE_STORE_URL", "S3_ENDPOINT_URL", "WORKER_METRICS_PORT",
        "WORKER_CONCURRENCY", "WORKER_POOL", "GENERATION_MAX_RETRIES", "JOB_MAX_ATTEMPTS",
        "TASK_SOFT_TIME_LIMIT", "JOB_LEASE_SECONDS", "SWEEP_INTERVAL_SECONDS",
        "SWEEP_GRACE_SECONDS", "LOG_FORMAT", "LOG_LEVEL", "MINT_LIMIT_PER_ADDRESS",
        "MINT_LIMIT_GLOBAL", "TRUSTED_PROXIES", "IMAGEGATE_FAULT",
        "QUEUED_RECHECK_SECONDS", "KEY_CACHE_SECONDS",
    }
)  # fmt: skip
