"""How each kind of setting is read from its raw text; every error names the variable."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from domain.errors import InvalidRequest
from domain.plans import PlanCatalog, PlansFileError, load_plans
from domain.validation import capabilities_for


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def _truthy(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _plans(path: str | None) -> PlanCatalog | None:
    if path is None:
        return None
    try:
        return load_plans(Path(path))
    except PlansFileError as exc:  # names the file, the problem and the line
        raise ConfigError(f"PLANS_FILE: {exc}") from None


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
