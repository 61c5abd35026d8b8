"""The variables table is the one declaration: the README's configuration table and the
parsing agree with it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from entrypoints.settings import ConfigError, Settings
from entrypoints.variables import VARIABLES, variable_named_in

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rows() -> dict[str, str | None]:
    """Variable → its default as the README's configuration table writes it (None: no plain
    one-token default to compare)."""
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str | None] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first, second = line.split("|")[1:3]
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", first)
        defaults = re.findall(r"`([^`]*)`", second)
        aligned = len(defaults) == len(names)
        rows.update({n: defaults[i] if aligned else None for i, n in enumerate(names)})
    return rows


def test_the_readme_documents_exactly_the_variables_of_the_table() -> None:
    assert set(readme_rows()) == set(VARIABLES)


def test_the_readme_states_the_numeric_defaults_the_settings_have() -> None:
    defaults = {f.name: f.default for f in fields(Settings)}
    rows = readme_rows()
    checked = 0
    for var in VARIABLES.values():
        if var.kind == "text" or rows[var.name] is None:
            continue
        assert rows[var.name] == f"{defaults[var.field]:g}", var.name
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("var", [v for v in VARIABLES.values() if v.minimum is not None])
def test_each_numeric_bound_stops_startup_naming_the_variable(var) -> None:  # type: ignore[no-untyped-def]
    below = str(var.minimum - 1)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({var.name: below}, env_file=None)
    assert str(caught.value).startswith(var.name)
    assert variable_named_in(str(caught.value)) is var
