"""A venv with only the SDK from clients/python/ installed, the way a user installs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SOURCE = ROOT / "clients" / "python"


def build_client_venv(target: Path) -> Path:
    """Returns the venv's python. Dependencies come from pip's cache when they are there."""
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(target)
    python = target / "bin" / "python"
    # Copy the source so the build leaves nothing (build/, *.egg-info) in the work tree.
    source = target / "src-copy"
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(CLIENT_SOURCE, source, ignore=ignore, dirs_exist_ok=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return python


def run(
    python: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


if __name__ == "__main__":
    print(build_client_venv(Path(sys.argv[1])))
