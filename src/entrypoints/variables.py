"""The environment variables imagegate reads, declared once: name, meaning and bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable: what it means and, for numbers, its bounds. A number sets the
    Settings field of its name in lower case (whose default is the variable's default)."""

    name: str
    help: str
    kind: str = "text"  # "integer", "number" (decimal) or "text" (parsed by its own rule)
    minimum: float | None = None
    maximum: float | None = None

    @property
    def field(self) -> str:
        return self.name.lower()


def _table(*variables: Variable) -> dict[str, Variable]:
    return {v.name: v for v in variables}


def _int(name: str, help: str, minimum: int, maximum: int | None = None) -> Variable:
    return Variable(name, help, "integer", minimum, maximum)


def _num(name: str, help: str, minimum: float) -> Variable:
    return Variable(name, help, "number", minimum)


# Every variable imagegate reads: parsing, the README's configuration table (a test compares
# them) and `imagegate doctor` read this table. Defaults are the Settings fields'.
VARIABLES = _table(
    Variable("HOST", "API bind address"),
    _int("PORT", "API port", 1, 65535),
    Variable("REDIS_URL", "Redis/Valkey for quota, jobs and broker"),
    Variable("CELERY_BROKER_URL", "Celery broker (default: REDIS_URL)"),
    Variable("QUOTA_PROVIDER", "unkey, local, or auto"),
    Variable("UNKEY_ROOT_KEY", "Unkey root key"),
    Variable("UNKEY_API_ID", "Unkey API id (api_…)"),
    Variable("UNKEY_BASE_URL", "Unkey API base"),
    _num("UNKEY_TIMEOUT_SECONDS", "per-request timeout towards Unkey", 0.1),
    Variable("UNKEY_RECOVERABLE", "mint recoverable keys (true or false)"),
    Variable("IMAGE_GENERATOR", "openai, placeholder, or auto"),
    Variable("OPENAI_API_KEY", "OpenAI API key"),
    Variable("OPENAI_BASE_URL", "OpenAI base URL (default: the SDK's)"),
    Variable("OPENAI_IMAGE_MODEL", "model sent on every request"),
    _num("OPENAI_TIMEOUT_SECONDS", "per-request timeout towards OpenAI", 1),
    _int("OPENAI_MAX_CONCURRENCY", "generations in flight across all workers (0: no limit)", 0),
    _int("PLAN_CREDITS", "credits a new key gets", 0),
    Variable("PLAN_REFILL_INTERVAL", "daily, monthly or none"),
    _int("PLAN_REFILL_AMOUNT", "credits each refill sets", 1),
    _int("PLAN_REFILL_DAY", "day of the month of a monthly refill", 1, 31),
    Variable("PLANS_FILE", "TOML file of plans and pricing (without it: one plan from PLAN_*)"),
    Variable("ADMIN_TOKEN", "bearer token of the operator API (unset: no operator API)"),
    _int("LEDGER_TTL_DAYS", "how long credit-ledger entries are kept", 1),
    _int("PLACEHOLDER_DELAY_MS", "simulated generation time of the placeholder renderer", 0),
    Variable("IMAGE_STORE_DIR", "where image bytes are kept"),
    Variable("IMAGE_STORE_URL", "s3://bucket/prefix: keep image bytes in S3 instead"),
    Variable("S3_ENDPOINT_URL", "an S3-compatible endpoint instead of AWS"),
    _int("WORKER_METRICS_PORT", "a worker's Prometheus port (0: off)", 0, 65535),
    _int("JOB_TTL_SECONDS", "how long jobs and images are kept", 60),
    _num("SYNC_WAIT_SECONDS", "how long the seed aliases wait", 0),
    Variable("COOKIE_SECURE", "Secure flag on the key cookie (true or false)"),
    Variable("WORKER_POOL", "Celery pool: threads, prefork or solo"),
    _int("WORKER_CONCURRENCY", "generations per worker process", 1),
    _int("JOB_MAX_ATTEMPTS", "attempts of a job (retries of transient errors, lost workers)", 1),
    _int("TASK_SOFT_TIME_LIMIT", "task time limit in seconds (hard limit: soft + 30)", 1),
    _num("JOB_LEASE_SECONDS", "a running job's lease", 1),
    _num("SWEEP_INTERVAL_SECONDS", "how often each worker sweeps", 0.1),
    _num("SWEEP_GRACE_SECONDS", "how old an unenqueued job or owed refund must be", 0.5),
    _num("QUEUED_RECHECK_SECONDS", "a queued job unclaimed this long is sent again", 1),
    _num("KEY_CACHE_SECONDS", "how long an API process remembers a key's id (0: off)", 0),
    _int("HTTP_MAX_HEADER_BYTES", "largest header block of a request (larger: 431)", 1024),
    _num("HTTP_HEADER_TIMEOUT_SECONDS", "time a client has to send a request's headers", 0.1),
    _int("MINT_LIMIT_PER_ADDRESS", "keys minted per client address per hour", 1),
    _int("MINT_LIMIT_GLOBAL", "keys minted in all per hour", 1),
    _int("MAX_WAITERS_PER_KEY", "SSE streams and long-polls one key may hold per API process", 1),
    _int("MAX_REQUESTS_PER_KEY", "other concurrent requests one key may have per API process", 1),
    Variable("TRUSTED_PROXIES", "comma-separated IPs/CIDRs of your reverse proxies"),
    Variable("WEBHOOK_SIGNING_KEY", "master secret the per-key webhook secrets derive from"),
    _int("WEBHOOK_MAX_ATTEMPTS", "delivery attempts per webhook event", 1),
    _num("WEBHOOK_RETRY_BASE_SECONDS", "the first webhook retry's wait (each next ~4x)", 0.01),
    Variable("WEBHOOK_ALLOW_PRIVATE", "allow http and non-global webhook targets (true or false)"),
    Variable("OPERATOR_WEBHOOK_URL", "where key events (credits low, exhausted) go"),
    Variable("OPERATOR_WEBHOOK_SECRET", "the whsec_… secret signing the operator's events"),
    Variable("LOG_FORMAT", "json or text"),
    Variable("LOG_LEVEL", "log level (INFO, DEBUG, ...)"),
)
ENVIRONMENT_VARIABLES = frozenset(VARIABLES)


def variable_named_in(message: str) -> Variable | None:
    """The variable a ConfigError's message starts with (they all name one first)."""
    name = message.split(" ", 1)[0].rstrip(":")
    return VARIABLES.get(name)
