"""The doctor's checks of hosted services: Unkey, OpenAI and S3. Cheap, read-only probes.

Unkey: a root key shows in how it is refused — 401 for an unknown root key, 403 for a missing
permission — so each probe calls an endpoint on a key that cannot exist and changes nothing.
A "not found" there does not prove the permission (Unkey may look the key up before it checks
the permission), so the doctor reports refusals, and names what only minting a key proves.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai

from adapters.unkey_protocol import (
    CREATE_KEY,
    DELETE_KEY,
    GET_KEY,
    UPDATE_CREDITS,
    VERIFY_KEY,
    Endpoint,
)
from entrypoints.doctor.findings import Finding, fail, ok, probe_id, warn
from entrypoints.settings import Settings

# Every permission the adapter's endpoints need, in its own table's words.
_NEEDED = [e.permission for e in (CREATE_KEY, GET_KEY, UPDATE_CREDITS, DELETE_KEY, VERIFY_KEY)]
_UNKEY_PERMISSIONS = ", ".join(_NEEDED[:-1]) + " and " + _NEEDED[-1]


def _unkey_fix(api_id: str | None) -> str:
    return (
        "In the Unkey dashboard (Settings → Root Keys) create a root key with "
        f"{_UNKEY_PERMISSIONS} on API {api_id}, and set it as UNKEY_ROOT_KEY."
    )


def check_unkey(settings: Settings, timeout: float) -> list[Finding]:
    base = settings.unkey_base_url
    headers = {"Authorization": f"Bearer {settings.unkey_root_key}"}
    probe_key_id = "key_" + probe_id()
    probes: list[tuple[Endpoint, dict[str, Any]]] = [
        (VERIFY_KEY, {"key": probe_id()}),
        (GET_KEY, {"keyId": probe_key_id}),
        (UPDATE_CREDITS, {"keyId": probe_key_id, "operation": "increment", "value": 1}),
        (DELETE_KEY, {"keyId": probe_key_id}),
    ]
    not_refused: list[str] = []
    findings: list[Finding] = []
    with httpx.Client(base_url=base, headers=headers, timeout=timeout) as client:
        for endpoint, body in probes:
            permission, path = endpoint.permission, endpoint.path
            try:
                answer = client.post(path, json=body)
            except httpx.HTTPError as exc:
                return [
                    fail(
                        "unkey",
                        f"cannot reach Unkey at {base} ({type(exc).__name__}: {exc})",
                        "Check UNKEY_BASE_URL (default https://api.unkey.com) and the network.",
                    )
                ]
            if answer.status_code == 401:
                return [
                    fail(
                        "unkey",
                        f"Unkey refused UNKEY_ROOT_KEY (401 Unauthorized at {path}): the root "
                        "key is unknown, mistyped or revoked.",
                        _unkey_fix(settings.unkey_api_id),
                    )
                ]
            if answer.status_code == 403:
                findings.append(
                    fail(
                        "unkey",
                        f"the root key lacks the {permission} permission (403 at {path}).",
                        f"Grant {permission} to the root key in the Unkey dashboard (it needs "
                        f"{_UNKEY_PERMISSIONS}).",
                    )
                )
            elif answer.status_code in (200, 404):
                not_refused.append(permission)
            elif answer.status_code == 429:
                findings.append(warn("unkey", f"rate limited at {path}; try again shortly."))
            else:
                findings.append(
                    warn("unkey", f"unexpected {answer.status_code} at {path}: {answer.text[:200]}")
                )
    if not_refused:
        detail = (
            f"root key accepted at {base}; not refused: {', '.join(not_refused)} "
            "(create_key is proven only by minting a key: POST /v1/keys)"
        )
        findings.insert(0, ok("unkey", detail))
    return findings


def check_openai(settings: Settings, timeout: float) -> list[Finding]:
    # The SDK the adapter uses knows where OpenAI is (and honours OPENAI_BASE_URL's setting).
    sdk = openai.OpenAI(api_key="unused", base_url=settings.openai_base_url)
    base = str(sdk.base_url).rstrip("/")
    model = settings.openai_image_model
    headers = {"Authorization": f"Bearer {settings.openai_api_key}"}
    try:
        answer = httpx.get(f"{base}/models/{model}", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return [
            fail(
                "openai",
                f"cannot reach {base} ({type(exc).__name__}: {exc})",
                "Check OPENAI_BASE_URL (unset means https://api.openai.com/v1) and the network.",
            )
        ]
    status = answer.status_code
    if status == 200:
        return [ok("openai", f"OPENAI_API_KEY accepted; model {model} is available")]
    if status == 401:
        return [
            fail(
                "openai",
                "OpenAI refused OPENAI_API_KEY (401): the key is wrong or was revoked.",
                "Create a key at https://platform.openai.com/api-keys and set OPENAI_API_KEY.",
            )
        ]
    if status == 404:
        return [
            fail(
                "openai",
                f"model {model} is not available to this key (404).",
                "Set OPENAI_IMAGE_MODEL to a GPT image model your organization may use "
                "(some need a verified organization).",
            )
        ]
    if status == 403:
        return [
            warn(
                "openai",
                "the key may not read models (403): a restricted key; generations may still "
                "work if it may write images.",
                "Allow 'Models: read' on the key to let the doctor check it.",
            )
        ]
    return [warn("openai", f"unexpected {status} from {base}/models/{model}")]


def check_s3(settings: Settings, timeout: float) -> list[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from adapters.s3_images import S3ImageStore, parse_s3_url

    url = settings.image_store_url or ""  # the caller checks it is set
    bucket, _ = parse_s3_url(url)
    where = url + (f" at {settings.s3_endpoint_url}" if settings.s3_endpoint_url else "")
    store = S3ImageStore.from_url(url, endpoint_url=settings.s3_endpoint_url)
    try:
        store.ping()
    except NoCredentialsError:
        return [
            fail(
                "image store",
                f"no AWS credentials for {where}.",
                "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or give the host a role).",
            )
        ]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            return [
                fail(
                    "image store",
                    f"bucket {bucket!r} does not exist ({where}).",
                    "Create the bucket (with a lifecycle rule expiring objects after "
                    "JOB_TTL_SECONDS) or correct IMAGE_STORE_URL.",
                )
            ]
        return [
            fail(
                "image store",
                f"S3 refused access to bucket {bucket!r} ({code or exc}).",
                "Grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the "
                "bucket to these credentials.",
            )
        ]
    except BotoCoreError as exc:
        return [
            fail(
                "image store",
                f"cannot reach S3 for {where} ({type(exc).__name__}).",
                "Check S3_ENDPOINT_URL (unset means AWS), AWS_REGION and the network.",
            )
        ]
    return [ok("image store", f"bucket {bucket!r} is reachable ({where})")]
