"""`imagegate doctor` against real services and fakes on loopback: each problem is reported
with what is wrong and how to fix it, and fails the exit code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from entrypoints import doctor
from tests.e2e.stack import free_port

if TYPE_CHECKING:
    from tests.fakes.s3_fixtures import S3Emulator
    from tests.fakes.unkey_server import FakeUnkeyServer

pytest_plugins = ["tests.fakes.unkey_fixtures", "tests.fakes.s3_fixtures"]

ROOT = Path(__file__).resolve().parents[2]


def diagnose(env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = doctor.run(env, env_file=None, out=out, timeout=2.0)
    return code, out.getvalue()


@pytest.fixture
def base_env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "IMAGE_STORE_DIR": str(tmp_path / "images")}


def unkey_env(server: FakeUnkeyServer, root_key: str | None = None) -> dict[str, str]:
    return {
        "QUOTA_PROVIDER": "unkey",
        "UNKEY_BASE_URL": server.base_url,
        "UNKEY_ROOT_KEY": root_key or server.root_key,
        "UNKEY_API_ID": server.api_id,
    }


def test_a_healthy_setup_passes(base_env: dict[str, str], fake_unkey: FakeUnkeyServer) -> None:
    code, report = diagnose({**base_env, **unkey_env(fake_unkey)})
    assert code == 0, report
    assert "FAIL" not in report
    assert "redis: redis://" in report and "answers PING" in report
    assert "root key accepted" in report
    assert "imagegate doctor: all good" in report
    assert fake_unkey.root_key not in report


def test_a_wrong_unkey_root_key_is_named_with_the_fix(
    base_env: dict[str, str], fake_unkey: FakeUnkeyServer
) -> None:
    code, report = diagnose({**base_env, **unkey_env(fake_unkey, "unkey_root_wrong")})
    assert code == 1
    assert "FAIL  unkey: Unkey refused UNKEY_ROOT_KEY (401 Unauthorized" in report
    assert "fix: In the Unkey dashboard" in report and "set it as UNKEY_ROOT_KEY" in report
    assert len(fake_unkey.requests()) == 1  # one refusal says it all
    assert "unkey_root_wrong" not in report


def test_a_missing_unkey_permission_is_named(
    base_env: dict[str, str], fake_unkey: FakeUnkeyServer
) -> None:
    fake_unkey.deny("update_key")
    code, report = diagnose({**base_env, **unkey_env(fake_unkey)})
    assert code == 1
    assert "the root key lacks the update_key permission (403" in report
    assert "fix: Grant update_key" in report
    assert "not refused: verify_key, read_key, delete_key" in report
    probes = [request["path"] for request in fake_unkey.requests()]
    assert probes == [
        "/v2/keys.verifyKey",
        "/v2/keys.getKey",
        "/v2/keys.updateCredits",
        "/v2/keys.deleteKey",
    ]


def test_an_unreachable_redis_is_reported_quickly(tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    code, report = diagnose({"REDIS_URL": url, "IMAGE_STORE_DIR": str(tmp_path)})
    assert code == 1
    assert f"FAIL  redis: cannot reach Redis at redis://:***@127.0.0.1:{url.split(':')[-1]}" in (
        report
    )
    assert "fix: Start Redis/Valkey, or correct the host, port and database in REDIS_URL" in report
    assert "hunter2" not in report


def test_an_unreachable_separate_broker_is_reported(base_env: dict[str, str]) -> None:
    broker = f"redis://127.0.0.1:{free_port()}/0"
    code, report = diagnose({**base_env, "CELERY_BROKER_URL": broker})
    assert code == 1
    assert f"FAIL  broker: cannot reach the broker at {broker}" in report
    assert "CELERY_BROKER_URL" in report
    assert "  ok  redis" in report


def test_a_configuration_error_names_the_variable_and_stops(tmp_path: Path) -> None:
    code, report = diagnose({"PLAN_CREDITS": "ten", "REDIS_URL": "redis://nowhere:1/0"})
    assert code == 1
    assert "FAIL  configuration: PLAN_CREDITS must be an integer, got 'ten'" in report
    assert "redis" not in report  # nothing else is checked on a broken configuration


def test_an_unset_redis_url_and_an_unwritable_store_are_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, report = diagnose({"IMAGE_STORE_DIR": str(blocker / "images")})
    assert code == 1
    assert "FAIL  redis: REDIS_URL is not set." in report
    assert f"FAIL  image store: cannot write to IMAGE_STORE_DIR={blocker / 'images'}" in report
    assert not (blocker.parent / "images").exists()


def test_a_missing_bucket_is_reported(
    base_env: dict[str, str], s3: S3Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)  # boto3 reads credentials from the process
    store = {"IMAGE_STORE_URL": f"s3://{s3.bucket}/images", **s3.env}
    code, report = diagnose({**base_env, **store})
    assert code == 0, report
    assert f"bucket '{s3.bucket}' is reachable" in report
    code, report = diagnose({**base_env, **store, "IMAGE_STORE_URL": "s3://no-such-bucket/x"})
    assert code == 1
    assert "FAIL  image store: bucket 'no-such-bucket' does not exist" in report


class _Models(BaseHTTPRequestHandler):
    """GET /v1/models/{model}: the one OpenAI call the doctor makes."""

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer sk-good":
            status, body = 401, {"error": {"code": "invalid_api_key", "message": "bad key"}}
        elif self.path == "/v1/models/gpt-image-1.5":
            status, body = 200, {"id": "gpt-image-1.5", "object": "model"}
        else:
            status, body = 404, {"error": {"code": "model_not_found", "message": "no"}}
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def models_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("key", "model", "expected"),
    [
        ("sk-good", "gpt-image-1.5", "  ok  openai: OPENAI_API_KEY accepted"),
        ("sk-bad", "gpt-image-1.5", "FAIL  openai: OpenAI refused OPENAI_API_KEY (401)"),
        ("sk-good", "gpt-image-9", "FAIL  openai: model gpt-image-9 is not available"),
    ],
)
def test_the_openai_key_and_model_are_checked(
    base_env: dict[str, str], models_api: str, key: str, model: str, expected: str
) -> None:
    env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": models_api, "OPENAI_IMAGE_MODEL": model}
    code, report = diagnose({**base_env, **env})
    assert expected in report
    assert code == (0 if expected.startswith("  ok") else 1)
    assert key not in report


def test_the_cli_runs_the_doctor(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "doctor"],
        cwd=tmp_path,  # no .env here
        env={**env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "FAIL  redis: cannot reach Redis" in done.stdout
    assert "imagegate doctor: 1 problem(s) to fix" in done.stdout
