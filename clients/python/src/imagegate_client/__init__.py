"""Python client for imagegate: `Client` / `AsyncClient`, typed results and errors."""

from imagegate_client._async import AsyncClient
from imagegate_client._protocol import RetryPolicy, __version__
from imagegate_client._sync import Client
from imagegate_client.errors import (
    AuthenticationError,
    Conflict,
    GenerationFailed,
    GenerationTimeout,
    ImagegateError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServiceUnavailable,
)
from imagegate_client.models import AsyncImage, Image, Job, JobPage, Me, Quote, Usage

__all__ = [
    "AsyncClient",
    "AsyncImage",
    "AuthenticationError",
    "Client",
    "Conflict",
    "GenerationFailed",
    "GenerationTimeout",
    "Image",
    "ImagegateError",
    "InvalidRequest",
    "Job",
    "JobPage",
    "Me",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "Quote",
    "RateLimited",
    "RetryPolicy",
    "ServiceUnavailable",
    "Usage",
    "__version__",
]
