"""`imagegate doctor`: check the configuration and every service it names, say what is wrong
and how to fix it. Exit code 0 when nothing failed (warnings allowed), 1 otherwise.

Every probe is cheap and read-only (or touches only a throwaway object), with a short timeout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from entrypoints.doctor.findings import Finding, Level, fail, ok
from entrypoints.doctor.local import check_broker, check_image_store, check_redis
from entrypoints.doctor.vendors import check_openai, check_unkey
from entrypoints.settings import ConfigError, Settings
from entrypoints.variables import variable_named_in

__all__ = ["Finding", "Level", "diagnose", "report", "run"]


def diagnose(settings: Settings, timeout: float) -> list[Finding]:
    checks: list[Callable[[Settings, float], list[Finding]]] = [
        check_redis,
        check_broker,
        check_image_store,
    ]
    if settings.quota_provider == "unkey":
        checks.append(check_unkey)
    if settings.image_generator == "openai":
        checks.append(check_openai)
    findings = [ok("configuration", settings.describe())]
    for check in checks:
        findings.extend(check(settings, timeout))
    return findings


def report(findings: list[Finding], out: TextIO) -> None:
    for finding in findings:
        print(f"{finding.level.value:>4}  {finding.check}: {finding.detail}", file=out)
        if finding.fix:
            print(f"      fix: {finding.fix}", file=out)
    failed = sum(1 for f in findings if f.level is Level.FAIL)
    warned = sum(1 for f in findings if f.level is Level.WARN)
    verdict = "all good" if not failed else f"{failed} problem(s) to fix"
    print(f"imagegate doctor: {verdict}" + (f", {warned} warning(s)" if warned else ""), file=out)


def run(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: str | Path | None = ".env",
    out: TextIO | None = None,
    timeout: float = 3.0,
) -> int:
    out = out or sys.stdout
    try:
        settings = Settings.from_env(environ, env_file=env_file)
    except ConfigError as exc:
        variable = variable_named_in(str(exc))
        meaning = f"{variable.name} is the {variable.help}. " if variable else ""
        findings = [
            fail(
                "configuration",
                str(exc),
                meaning + "Fix that variable in the environment or in .env, then run "
                "`imagegate doctor` again (the other checks need a valid configuration).",
            )
        ]
    else:
        findings = diagnose(settings, timeout)
    report(findings, out)
    return 1 if any(f.level is Level.FAIL for f in findings) else 0
