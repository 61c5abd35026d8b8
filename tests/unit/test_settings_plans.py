"""PLANS_FILE, ADMIN_TOKEN and LEDGER_TTL_DAYS as settings: a bad plans file stops startup
naming the file, the problem and the line; no file is the single PLAN_* plan, self-serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.pricing import FLAT
from entrypoints.settings import ConfigError, Settings


def test_a_plans_file_gives_the_catalog_and_its_pricing(tmp_path: Path):
    plans = tmp_path / "plans.toml"
    plans.write_text("[plans.pro]\ncredits = 500\n[pricing]\nquality = { high = 4 }\n")

    settings = Settings.from_env({"PLANS_FILE": str(plans), "LEDGER_TTL_DAYS": "7"}, None)

    assert settings.catalog.require("pro").credits == 500
    assert settings.catalog.self_serve is None and settings.catalog.pricing != FLAT
    assert settings.ledger_ttl_days == 7


def test_a_bad_plans_file_stops_startup_naming_file_problem_and_line(tmp_path: Path):
    plans = tmp_path / "plans.toml"
    plans.write_text("[plans.pro]\ncredits = 500\ncredits = = 3\n")

    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"PLANS_FILE": str(plans)}, None)

    message = str(caught.value)
    assert message.startswith("PLANS_FILE") and str(plans) in message and "line 3" in message


def test_without_a_file_there_is_one_self_serve_default_plan_at_one_credit_an_image():
    settings = Settings.from_env({"PLAN_CREDITS": "7"}, None)

    assert settings.catalog.self_serve is not None
    assert (settings.catalog.self_serve.name, settings.catalog.self_serve.credits) == ("default", 7)
    assert settings.catalog.pricing == FLAT and settings.admin_token is None


def test_the_admin_token_is_never_in_the_settings_repr():
    settings = Settings.from_env({"ADMIN_TOKEN": "adm_test_not_a_secret"}, None)

    assert settings.admin_token == "adm_test_not_a_secret"
    assert "adm_test_not_a_secret" not in repr(settings)
