"""The plans file: DESIGN's example parses and prices; bad files name the problem and where."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from domain.errors import UnknownPlan
from domain.models import ImageRequest, Plan, Quality, Refill, RefillInterval
from domain.plans import PlanCatalog, PlansFileError, load_plans, parse_plans

EXAMPLE = """
[plans.free]
credits = 10                                     # balance of a new key
refill = { interval = "daily", amount = 10 }
self_serve = true
alerts = [0.8, 1.0]

[plans.pro]
credits = 500
refill = { interval = "monthly", amount = 500, day = 1 }

[pricing]
quality = { low = 1, medium = 2, high = 4, auto = 2 }
size = { "1024x1024" = 1, "1536x1024" = 1.5, "1024x1536" = 1.5, auto = 1.5 }
model = { "gpt-image-1-mini" = 0.5 }
"""


def request(**fields: object) -> ImageRequest:
    return ImageRequest(prompt="a cat", **fields)  # type: ignore[arg-type]


def test_designs_example_parses_into_plans() -> None:
    catalog = parse_plans(EXAMPLE)

    assert catalog.require("free") == Plan(10, Refill(RefillInterval.DAILY, 10), "free")
    assert catalog.require("pro") == Plan(500, Refill(RefillInterval.MONTHLY, 500, 1), "pro")
    assert catalog.plans["free"].alerts == (Fraction(4, 5), Fraction(1))
    assert catalog.self_serve == catalog.require("free")


def test_designs_example_prices_a_job() -> None:
    pricing = parse_plans(EXAMPLE).pricing

    job = request(n=2, quality=Quality.HIGH, size="1536x1024")
    assert pricing.per_image(job) == 6  # ceil(4 x 1.5)
    assert pricing.job_cost(job) == 12
    mini = request(quality=Quality.HIGH, size="1024x1024", model="gpt-image-1-mini")
    assert pricing.per_image(mini) == 2  # 4 x 1 x 0.5
    # A factor product below one still costs a credit; missing factors are 1.
    assert pricing.per_image(request(quality=Quality.LOW, model="gpt-image-1-mini")) == 1
    assert pricing.per_image(request(size="640x480", quality=Quality.MEDIUM)) == 2


def test_factors_are_exact_so_a_whole_product_is_not_rounded_up() -> None:
    text = "[plans.a]\ncredits = 1\n[pricing]\nsize = { auto = 1.1 }\nquality = { high = 10 }\n"
    pricing = parse_plans(text).pricing
    # 1.1 x 10 is 11.000000000000002 in binary floats, which would round up to 12.
    assert pricing.per_image(request(size="auto", quality=Quality.HIGH)) == 11


def test_without_a_file_one_self_serve_default_plan_costs_one_credit_per_image() -> None:
    catalog = PlanCatalog.default(25, RefillInterval.MONTHLY, 25, 31)

    assert list(catalog.plans) == ["default"]
    assert catalog.self_serve == Plan(25, Refill(RefillInterval.MONTHLY, 25, 31), "default")
    job = request(n=3, quality=Quality.HIGH, size="1536x1024", model="gpt-image-1-mini")
    assert catalog.pricing.job_cost(job) == 3


def test_an_unknown_plan_is_a_domain_error_naming_plan() -> None:
    with pytest.raises(UnknownPlan) as caught:
        parse_plans(EXAMPLE).require("gold")
    assert caught.value.code == "unknown_plan" and caught.value.field == "plan"
    assert "gold" in caught.value.detail


def test_load_plans_reads_the_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "plans.toml"
    good.write_text(EXAMPLE)
    assert set(load_plans(good).plans) == {"free", "pro"}

    missing = tmp_path / "nope.toml"
    with pytest.raises(PlansFileError, match=r"nope\.toml"):
        load_plans(missing)


def test_a_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "plans.toml"
    bad.write_text("[plans.free]\ncredits = 10\nrefill = { interval = \n")
    with pytest.raises(PlansFileError) as caught:
        load_plans(bad)
    assert str(bad) in str(caught.value) and "line 3" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "[plans.a]\ncredits = 1\nself_serve = true\n[plans.b]\ncredits = 1\nself_serve = true",
            "plans.b.self_serve",
            "at most one plan may be self-serve",
        ),
        (
            '[plans.pro]\ncredits = 5\nrefill = { interval = "monthly", amount = 5, day = 32 }',
            "plans.pro.refill.day",
            "must be 1..31, not 32",
        ),
        ("[plans.pro]\ncredits = -1", "plans.pro.credits", "must be >= 0, not -1"),
        ("[plans.pro]\ncredits = 1\ncolour = 'red'", "plans.pro.colour", "unknown key"),
        ("[plans.pro]\ncredits = 1\nalerts = [0.5, 1.5]", "plans.pro.alerts[1]", "(0, 1]"),
        ("[plans.pro]\ncredits = 1\nalerts = [1.0, 0.5]", "plans.pro.alerts", "ascending"),
        ("[plans.pro]\ncredits = 1.5", "plans.pro.credits", "whole number"),
        (
            "[plans.pro]\nrefill = { interval = 'daily', amount = 1 }",
            "plans.pro.credits",
            "required",
        ),
        (
            "[plans.pro]\ncredits = 1\nrefill = { interval = 'weekly', amount = 1 }",
            "plans.pro.refill.interval",
            "'daily' or 'monthly'",
        ),
        ("[pricing]\nquality = { high = 2 }", "plans", "must be a table"),
        (
            "[plans.a]\ncredits = 1\n[pricing]\nquality = { ultra = 2 }",
            "pricing.quality.ultra",
            "unknown",
        ),
        ("[plans.a]\ncredits = 1\n[pricing]\nmodel = { m = 0 }", "pricing.model.m", "> 0"),
        ("[plans.a]\ncredits = 1\n[pricing]\nsize = { big = 2 }", 'pricing.size."big"', "WIDTHx"),
        ("[plans.a]\ncredits = 1\n[extras]\nx = 1", "extras", "unknown key"),
    ],
)
def test_a_bad_file_names_where_and_what(text: str, where: str, problem: str) -> None:
    with pytest.raises(PlansFileError) as caught:
        parse_plans(text, source="plans.toml")
    message = str(caught.value)
    assert message.startswith(f"plans file plans.toml: {where}: "), message
    assert problem in message
