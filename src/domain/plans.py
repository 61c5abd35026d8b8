"""The plan catalog: named plans and pricing, from a TOML plans file (DESIGN "Operators").

Without a file there is one plan, `default`, made from the PLAN_* settings: self-serve, every
image 1 credit. A bad file raises PlansFileError naming the file, the problem and where it is:
the line for a TOML syntax error, the table path (`plans.pro.refill.day`) for the rest.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from domain.errors import UnknownPlan
from domain.models import Plan, Quality, Refill, RefillInterval
from domain.pricing import FLAT, Pricing

PLAN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # part of Redis key names: keep it plain
_SIZE = re.compile(r"auto|[0-9]{1,5}x[0-9]{1,5}", re.ASCII)


class PlansFileError(ValueError):
    """The plans file cannot be used; the message says which file, what and where."""


@dataclass(frozen=True, slots=True)
class CatalogPlan:
    plan: Plan
    self_serve: bool = False
    alerts: tuple[Fraction, ...] = ()  # shares of the period's credits, ascending, in (0, 1]


@dataclass(frozen=True, slots=True)
class PlanCatalog:
    plans: Mapping[str, CatalogPlan]
    pricing: Pricing = field(default=FLAT)

    @classmethod
    def default(
        cls, credits: int, interval: RefillInterval, amount: int, day: int = 1
    ) -> PlanCatalog:
        """The catalog without a plans file: one self-serve plan from the PLAN_* values."""
        plan = Plan.build(credits, interval, amount, day)
        return cls({plan.name: CatalogPlan(plan, self_serve=True)})

    def get(self, name: str) -> Plan | None:
        entry = self.plans.get(name)
        return entry.plan if entry else None

    def require(self, name: str) -> Plan:
        plan = self.get(name)
        if plan is None:
            raise UnknownPlan(name)
        return plan

    @property
    def self_serve(self) -> Plan | None:
        """The plan self-serve mints use; None: self-serve minting is off."""
        return next((entry.plan for entry in self.plans.values() if entry.self_serve), None)


def load_plans(path: Path) -> PlanCatalog:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlansFileError(f"plans file {path}: cannot be read: {exc}") from exc
    return parse_plans(text, source=str(path))


def parse_plans(text: str, *, source: str = "<plans>") -> PlanCatalog:
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise PlansFileError(f"plans file {source}{where}: not valid TOML: {exc}") from exc
    try:
        return _catalog(document)
    except _Invalid as exc:
        raise PlansFileError(f"plans file {source}: {exc.path}: {exc.problem}") from None


class _Invalid(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def _table(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(path, "must be a table")
    return value


def _only(table: Mapping[str, object], path: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise _Invalid(f"{path}.{key}" if path else key, f"unknown key (known: {known})")


def _count(value: object, path: str, *, low: int = 0, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(path, "must be a whole number")
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise _Invalid(path, f"must be {bound}, not {value}")
    return value


def _fraction(value: object, path: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Invalid(path, "must be a number")
    factor = Fraction(value)
    if factor <= 0:
        raise _Invalid(path, f"must be > 0, not {value}")
    return factor


def _catalog(document: dict[str, Any]) -> PlanCatalog:
    _only(document, "", {"plans", "pricing"})
    plans = _table(document.get("plans"), "plans")
    if not plans:
        raise _Invalid("plans", "at least one plan is needed")
    catalog = {name: _plan(name, value) for name, value in plans.items()}
    self_serve = [name for name, entry in catalog.items() if entry.self_serve]
    if len(self_serve) > 1:
        raise _Invalid(
            f"plans.{self_serve[1]}.self_serve",
            f"at most one plan may be self-serve ({', '.join(self_serve)} are)",
        )
    pricing = _pricing(_table(document.get("pricing", {}), "pricing"))
    return PlanCatalog(catalog, pricing)


def _plan(name: str, value: object) -> CatalogPlan:
    path = f"plans.{name}"
    if not PLAN_NAME.fullmatch(name):
        raise _Invalid(path, "a plan name is 1-64 letters, digits, '_', '.' or '-'")
    table = _table(value, path)
    _only(table, path, {"credits", "refill", "self_serve", "alerts"})
    if "credits" not in table:
        raise _Invalid(f"{path}.credits", "is required")
    credits = _count(table["credits"], f"{path}.credits")
    refill = _refill(table["refill"], f"{path}.refill") if "refill" in table else None
    self_serve = table.get("self_serve", False)
    if not isinstance(self_serve, bool):
        raise _Invalid(f"{path}.self_serve", "must be true or false")
    alerts = _alerts(table.get("alerts", []), f"{path}.alerts")
    return CatalogPlan(Plan(credits, refill, name), self_serve, alerts)


def _refill(value: object, path: str) -> Refill:
    table = _table(value, path)
    _only(table, path, {"interval", "amount", "day"})
    interval = table.get("interval")
    if interval not in ("daily", "monthly"):
        raise _Invalid(f"{path}.interval", f"must be 'daily' or 'monthly', not {interval!r}")
    if "amount" not in table:
        raise _Invalid(f"{path}.amount", "is required")
    amount = _count(table["amount"], f"{path}.amount")
    if interval == "daily":
        if "day" in table:
            raise _Invalid(f"{path}.day", "only a monthly refill has a day")
        return Refill(RefillInterval.DAILY, amount)
    day = _count(table.get("day", 1), f"{path}.day", low=1, high=31)
    return Refill(RefillInterval.MONTHLY, amount, day)


def _alerts(value: object, path: str) -> tuple[Fraction, ...]:
    if not isinstance(value, list):
        raise _Invalid(path, "must be a list of shares, e.g. [0.8, 1.0]")
    shares = [_fraction(share, f"{path}[{i}]") for i, share in enumerate(value)]
    for i, share in enumerate(shares):
        if share > 1:
            raise _Invalid(f"{path}[{i}]", f"a share is in (0, 1], not {value[i]}")
    if shares != sorted(set(shares)):
        raise _Invalid(path, "shares must be ascending and unique")
    return tuple(shares)


def _pricing(table: dict[str, Any]) -> Pricing:
    _only(table, "pricing", {"quality", "size", "model"})
    quality = _factors(table.get("quality", {}), "pricing.quality")
    known = {q.value for q in Quality}
    for key in quality:
        if key not in known:
            raise _Invalid(f"pricing.quality.{key}", f"unknown quality (known: {sorted(known)})")
    size = _factors(table.get("size", {}), "pricing.size")
    for key in size:
        if not _SIZE.fullmatch(key):
            raise _Invalid(f'pricing.size."{key}"', "a size is WIDTHxHEIGHT or auto")
    model = _factors(table.get("model", {}), "pricing.model")
    return Pricing(quality, size, model)


def _factors(value: object, path: str) -> dict[str, Fraction]:
    table = _table(value, path)
    return {key: _fraction(factor, f"{path}.{key}") for key, factor in table.items()}
