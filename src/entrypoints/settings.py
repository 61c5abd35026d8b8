"""Configuration: one frozen Settings read from the environment (and `.env`), validated once.

A missing or inconsistent setting raises ConfigError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from domain.models import Plan, RefillInterval
from domain.plans import PlanCatalog
from entrypoints.setting_values import (
    ConfigError,
    _choice,
    _integer,
    _networks,
    _number,
    _plans,
    _s3_url,
    _servable_model,
    _truthy,
)
from entrypoints.variables import ENVIRONMENT_VARIABLES, VARIABLES

__all__ = ["ENVIRONMENT_VARIABLES", "ConfigError", "Settings"]

DEFAULT_OPENAI_IMAGE_MODEL = "gpt-image-1.5"
PLACEHOLDER_MODEL = "placeholder"


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
    plans: PlanCatalog | None = None  # PLANS_FILE, read and checked at startup
    admin_token: str | None = field(default=None, repr=False)
    ledger_ttl_days: int = 90
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
    job_max_attempts: int = 6
    task_soft_time_limit: int = 300
    mint_limit_per_address: int = 20  # keys per client address per hour
    mint_limit_global: int = 1000  # keys per hour in all
    trusted_proxies: tuple[str, ...] = ()
    job_lease_seconds: float = 30.0
    sweep_interval_seconds: float = 5.0
    sweep_grace_seconds: float = 30.0
    queued_recheck_seconds: float = 600.0
    redis_timeout_seconds: float = 2.0
    key_cache_seconds: float = 5.0  # how long an API process remembers a key's id (0: never)
    http_max_header_bytes: int = 32768  # a request's whole header block; larger: 431
    http_header_timeout_seconds: float = 10.0  # to send a request's headers; then closed
    webhook_signing_key: str | None = field(default=None, repr=False)
    webhook_max_attempts: int = 8
    webhook_retry_base_seconds: float = 5.0
    webhook_allow_private: bool = False
    operator_webhook_url: str | None = None
    operator_webhook_secret: str | None = field(default=None, repr=False)
    max_waiters_per_key: int = 5_000  # SSE streams and long-polls (they hold no connection)
    max_requests_per_key: int = 32  # other concurrent requests of one key (each holds one)
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
    def catalog(self) -> PlanCatalog:
        """The plans file's catalog, or without one the single `default` plan from PLAN_*."""
        if self.plans is not None:
            return self.plans
        return PlanCatalog.default(
            self.plan_credits, self.plan_refill_interval, self.plan_refill_amount,
            self.plan_refill_day,
        )  # fmt: skip

    @property
    def task_time_limit(self) -> int:
        """The hard limit: the soft one plus time to fail the job cleanly."""
        return self.task_soft_time_limit + 30

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
        # Numbers, from the table; unset keeps the field's default.
        for var in VARIABLES.values():
            if var.kind == "text" or (raw := get(var.name)) is None:
                continue
            if var.kind == "integer":
                least, most = var.minimum, var.maximum
                values[var.field] = _integer(
                    var.name,
                    raw,
                    minimum=None if least is None else int(least),
                    maximum=None if most is None else int(most),
                )
            else:
                values[var.field] = _number(var.name, raw, minimum=var.minimum or 0.0)
        values.update(
            host=get("HOST", cls.host),
            redis_url=get("REDIS_URL"),
            celery_broker_url=get("CELERY_BROKER_URL"),
            **cls._quota(env),
            **cls._images(env),
            plan_refill_interval=RefillInterval(
                _choice(
                    "PLAN_REFILL_INTERVAL",
                    get("PLAN_REFILL_INTERVAL", "daily"),
                    tuple(i.value for i in RefillInterval),
                )
            ),
            image_store_dir=Path(get("IMAGE_STORE_DIR", "./var/images")),
            image_store_url=_s3_url("IMAGE_STORE_URL", get("IMAGE_STORE_URL")),
            s3_endpoint_url=get("S3_ENDPOINT_URL"),
            cookie_secure=_truthy("COOKIE_SECURE", get("COOKIE_SECURE", "true")),
            worker_pool=_choice(
                "WORKER_POOL", get("WORKER_POOL", "threads"), ("threads", "prefork", "solo")
            ),
            trusted_proxies=_networks("TRUSTED_PROXIES", get("TRUSTED_PROXIES", "")),
            **cls._webhooks(env),
            log_format=_choice("LOG_FORMAT", get("LOG_FORMAT", "json"), ("json", "text")),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            plans=_plans(get("PLANS_FILE")),
            admin_token=get("ADMIN_TOKEN"),
        )
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def _quota(cls, env: Mapping[str, str]) -> dict[str, object]:
        root_key, api_id = env.get("UNKEY_ROOT_KEY"), env.get("UNKEY_API_ID")
        choices = ("auto", "local", "unkey")
        quota = _choice("QUOTA_PROVIDER", env.get("QUOTA_PROVIDER", "auto"), choices)
        if quota == "auto":
            quota = "unkey" if root_key and api_id else "local"
        if quota == "unkey":
            if not root_key:
                raise ConfigError("UNKEY_ROOT_KEY must be set when QUOTA_PROVIDER=unkey")
            if not api_id:
                raise ConfigError("UNKEY_API_ID must be set when QUOTA_PROVIDER=unkey")
        return {
            "quota_provider": quota,
            "unkey_root_key": root_key,
            "unkey_api_id": api_id,
            "unkey_base_url": env.get("UNKEY_BASE_URL", cls.unkey_base_url).rstrip("/"),
            "unkey_recoverable": _truthy(
                "UNKEY_RECOVERABLE", env.get("UNKEY_RECOVERABLE", "false")
            ),
        }

    @classmethod
    def _webhooks(cls, env: Mapping[str, str]) -> dict[str, object]:
        operator_url, operator_secret = (
            env.get("OPERATOR_WEBHOOK_URL"),
            env.get("OPERATOR_WEBHOOK_SECRET"),
        )
        if operator_url and not (operator_secret or "").startswith("whsec_"):
            raise ConfigError(
                "OPERATOR_WEBHOOK_SECRET must be set (whsec_…) when OPERATOR_WEBHOOK_URL is"
            )
        return {
            "webhook_signing_key": env.get("WEBHOOK_SIGNING_KEY"),
            "webhook_allow_private": _truthy(
                "WEBHOOK_ALLOW_PRIVATE", env.get("WEBHOOK_ALLOW_PRIVATE", "false")
            ),
            "operator_webhook_url": operator_url,
            "operator_webhook_secret": operator_secret,
        }

    @classmethod
    def _images(cls, env: Mapping[str, str]) -> dict[str, object]:
        openai_key = env.get("OPENAI_API_KEY")
        choices = ("auto", "placeholder", "openai")
        generator = _choice("IMAGE_GENERATOR", env.get("IMAGE_GENERATOR", "auto"), choices)
        if generator == "auto":
            generator = "openai" if openai_key else "placeholder"
        if generator == "openai" and not openai_key:
            raise ConfigError("OPENAI_API_KEY must be set when IMAGE_GENERATOR=openai")
        model = env.get("OPENAI_IMAGE_MODEL", DEFAULT_OPENAI_IMAGE_MODEL)
        if generator == "openai":
            _servable_model("OPENAI_IMAGE_MODEL", model)
        return {
            "image_generator": generator,
            "openai_api_key": openai_key,
            "openai_base_url": env.get("OPENAI_BASE_URL"),
            "openai_image_model": model,
        }
