"""docker-compose.yml, checked statically (no Docker engine here): it is a valid Compose file,
it runs real `imagegate` commands with variables the settings read, and it scales."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from entrypoints.cli import main as imagegate
from entrypoints.settings import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def imagegate_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run our image (built from this Dockerfile)."""
    services = {name: s for name, s in compose["services"].items() if "build" in s}
    assert set(services) == {"api", "worker"}
    return services


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


def test_compose_file_validates_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    schema = compose_schema()
    jsonschema.validate(compose, schema)
    broken = {**compose, "services": {"api": {"image": "x", "ports": "8000"}}}
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a bad file
        jsonschema.validate(broken, schema)


def test_every_service_command_is_a_real_imagegate_subcommand(
    imagegate_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in imagegate_services.items():
        command = service["command"]
        assert isinstance(command, list) and len(command) == 1, name
        with pytest.raises(SystemExit) as exited:
            imagegate([command[0], "--help"])
        assert exited.value.code == 0, f"{name}: `imagegate {command[0]}` is not a command"
    with pytest.raises(SystemExit) as unknown:
        imagegate(["serve", "--help"])
    assert unknown.value.code == 2


def test_every_variable_compose_sets_is_read_by_the_settings(
    imagegate_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in imagegate_services.items():
        environment = service["environment"]
        assert isinstance(environment, dict), f"{name}: use the mapping form"
        unknown = set(environment) - ENVIRONMENT_VARIABLES
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
        assert environment["REDIS_URL"].startswith("redis://valkey:")
        assert environment["HOST"] == "0.0.0.0"  # reachable from outside its container
        assert any(e.get("path") == ".env" for e in service["env_file"])


def test_worker_scales_no_fixed_name_and_no_host_ports(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["environment"]["WORKER_METRICS_PORT"]  # reached inside the network only
    api = compose["services"]["api"]
    assert api["ports"] == ["${IMAGEGATE_BIND:-127.0.0.1}:${IMAGEGATE_PORT:-8000}:8000"]
    assert api["environment"]["PORT"] == "8000"


def test_api_and_worker_share_the_image_store(
    compose: dict[str, Any], imagegate_services: dict[str, dict[str, Any]]
) -> None:
    mounts = set()
    for service in imagegate_services.values():
        store = service["environment"]["IMAGE_STORE_DIR"]
        volume = next(v for v in service["volumes"] if v.split(":")[1] == store)
        mounts.add(volume)
    assert len(mounts) == 1, f"api and worker mount different stores: {mounts}"
    (volume,) = mounts
    assert volume.split(":")[0] in compose["volumes"]  # a named volume, not a host directory


def test_valkey_persists_and_is_waited_for(
    compose: dict[str, Any], imagegate_services: dict[str, dict[str, Any]]
) -> None:
    valkey = compose["services"]["valkey"]
    assert valkey["image"].startswith("valkey/valkey:")
    assert "--appendonly" in valkey["command"]
    assert valkey["command"][valkey["command"].index("--appendonly") + 1] == "yes"
    (data,) = valkey["volumes"]
    assert data.endswith(":/data") and data.split(":")[0] in compose["volumes"]
    assert valkey["healthcheck"]["test"] == ["CMD", "valkey-cli", "ping"]
    for service in imagegate_services.values():
        assert service["depends_on"]["valkey"]["condition"] == "service_healthy"


def test_monitoring_is_opt_in_and_scrapes_every_worker(compose: dict[str, Any]) -> None:
    for name in ("flower", "prometheus"):
        assert compose["services"][name]["profiles"] == ["monitoring"]
    scrape = yaml.safe_load((ROOT / "ops" / "prometheus.yml").read_text())
    ports = {job["job_name"]: job["dns_sd_configs"][0]["port"] for job in scrape["scrape_configs"]}
    worker_port = int(compose["services"]["worker"]["environment"]["WORKER_METRICS_PORT"])
    assert ports == {"imagegate-api": 8000, "imagegate-worker": worker_port}


def test_every_published_port_binds_to_loopback_unless_the_operator_widens_it(
    compose: dict[str, Any],
) -> None:
    published = {
        name: service["ports"]
        for name, service in compose["services"].items()
        if "ports" in service
    }
    assert set(published) >= {"api"}
    for name, ports in published.items():
        for port in ports:
            host, _, _ = str(port).partition(":${")
            assert host == "${IMAGEGATE_BIND:-127.0.0.1}", (name, port)
