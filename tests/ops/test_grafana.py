"""The Grafana dashboard charts series that exist: every `imagegate_*` name in its queries is
one the API's and workers' registry exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.metrics_core import Metric

from adapters.prometheus_metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "ops" / "grafana" / "imagegate.json"
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def exposed_series() -> set[str]:
    metrics = Metrics()
    metrics.watch_queue(lambda: 0, "images")
    families: list[Metric] = list(metrics.registry.collect())
    return {
        family.name + suffix for family in families for suffix in _SUFFIXES.get(family.type, ("",))
    }


def dashboard_series() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return {name for expr in exprs for name in re.findall(r"\bimagegate_[a-z_]+", expr)}


def test_every_series_the_dashboard_names_is_exposed() -> None:
    named = dashboard_series()
    assert named, "the dashboard queries no imagegate series"
    assert named - exposed_series() == set()


def test_the_dashboard_charts_jobs_credits_queue_and_http() -> None:
    named = dashboard_series()
    for series in (
        "imagegate_jobs_finished_total",
        "imagegate_jobs_submitted_total",
        "imagegate_credits_charged_total",
        "imagegate_queue_depth",
        "imagegate_http_request_duration_seconds_bucket",
    ):
        assert series in named
