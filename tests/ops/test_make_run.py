"""`make run` on a fresh machine: a venv with the runtime dependencies only (no test or lint
tools), installed without a deprecation warning from our own metadata."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("pytest", "mypy", "ruff", "hypothesis", "playwright")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )


def test_make_run_plans_a_runtime_only_install(tmp_path: Path) -> None:
    planned = make("-n", "run", f"VENV={tmp_path}/venv")
    assert planned.returncode == 0, planned.stderr
    installs = [line for line in planned.stdout.splitlines() if " install " in line]
    assert any(line.endswith("install --quiet -e .") for line in installs), planned.stdout
    assert not any("dev" in line for line in installs)
    assert planned.stdout.rstrip().endswith("imagegate dev")


@pytest.mark.e2e
def test_the_make_run_venv_has_no_dev_tools_and_installs_without_deprecations(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "venv"
    built = make(f"VENV={venv}", f"{venv}/.installed-run")  # what `make run` does before it runs
    assert built.returncode == 0, built.stdout + built.stderr
    assert "deprecat" not in (built.stdout + built.stderr).lower()
    python = venv / "bin" / "python"
    probe = subprocess.run(
        [
            str(python),
            "-c",
            # Every module of ours, and what Celery loads only once a worker starts (kombu's
            # Redis transport imports `packaging` without declaring it), must import here.
            "import importlib, importlib.util, pkgutil, sys; import swagger_ui_bundle;"
            " [importlib.import_module(m.name) for p in ('domain', 'adapters', 'entrypoints',"
            " 'worker') for m in pkgutil.walk_packages(importlib.import_module(p).__path__,"
            " p + '.') if not m.name.endswith('__main__')];"
            " import kombu.transport.redis, celery.concurrency.thread;"
            f" print([m for m in {DEV_TOOLS!r} if importlib.util.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
    assert (venv / "bin" / "imagegate").exists()
    assert not (venv / "bin" / "ruff").exists()
