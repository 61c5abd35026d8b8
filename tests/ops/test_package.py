"""The container image installs the package the tests run: the Dockerfile builds a wheel from
the files it copies and installs only that wheel, without the dev extra."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "adapters", "entrypoints", "worker")


def instructions(stage: str) -> list[str]:
    """The Dockerfile's instructions in one stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            assert match[1].startswith("python:3.11-slim")
            current = stages.setdefault(match[2], [])
        elif current is not None:
            current.append(line)
    return stages[stage]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the Dockerfile's build stage copies, and nothing else."""
    context = tmp_path_factory.mktemp("context")
    for line in instructions("build"):
        if line.startswith("COPY"):
            *sources, _target = line.split()[1:]
            for source in sources:
                path = ROOT / source
                if path.is_dir():
                    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
                    shutil.copytree(path, context / source, ignore=ignore)
                else:
                    shutil.copy2(path, context / source)
    return context


@pytest.fixture(scope="module")
def wheel(context: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel as the Dockerfile's build stage does."""
    build = [line for line in instructions("build") if line.startswith("RUN pip wheel")]
    assert build == ["RUN pip wheel --no-deps --wheel-dir /wheels ."]
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--wheel-dir", str(out), "."],
        cwd=context,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("imagegate-*.whl")
    return built


def test_the_wheel_declares_the_imagegate_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        parser = ConfigParser()
        parser.read_string(archive.read(entry_points).decode())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert parser["console_scripts"]["imagegate"] == "entrypoints.cli:main"
    assert b"Provides-Extra: dev" in metadata  # the extra exists, and the image must not use it


def test_the_wheel_holds_every_package_and_its_data(wheel: Path, context: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names, package
    for module in ("entrypoints/cli.py", "entrypoints/doctor/__init__.py", "adapters/s3_images.py"):
        assert module in names
    copied = {str(p.relative_to(context / "src")) for p in (context / "src").rglob("*.py")}
    copied |= {str(p.relative_to(context)) for p in (context / "worker").glob("*.py")}
    assert len(copied) > 30
    assert copied <= names, f"missing from the wheel: {copied - names}"
    lua = {str(p.relative_to(context / "src")) for p in (context / "src").rglob("*.lua")}
    assert lua and lua <= names
    assert not any(name.startswith("tests/") for name in names)


def test_the_runtime_stage_installs_only_that_wheel_without_dev_extras() -> None:
    runtime = instructions("runtime")
    installs = [line for line in runtime if "pip install" in line]
    assert len(installs) == 1, installs
    (install,) = installs
    assert "from=build" in install and "source=/wheels" in install
    assert install.endswith("pip install /wheels/imagegate-*.whl")
    assert "[dev]" not in install and " -e " not in install and "[" not in install
    assert not any(line.startswith(("COPY src", "COPY worker", "COPY .")) for line in runtime)
    assert 'ENTRYPOINT ["imagegate"]' in runtime
    assert 'CMD ["api"]' in runtime
    user = [line for line in runtime if line.startswith("USER ")]
    assert user and user[-1] != "USER root"
    healthcheck = next(line for line in runtime if line.startswith("HEALTHCHECK"))
    assert "urllib.request" in healthcheck and "/healthz" in healthcheck


def test_the_build_context_excludes_secrets_and_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "var"} <= ignored
