"""Domain errors. Each carries a stable `code`; the HTTP edge maps codes to statuses."""

from __future__ import annotations

from domain.models import JobError, Refill

# The job's error when every attempt lost its worker (the sweeper's and the worker's verdict).
WORKER_LOST = JobError("worker_lost", "The job's workers were lost too many times.")
DEADLINE_EXCEEDED = JobError("deadline_exceeded", "The job did not finish before its deadline.")


class DomainError(Exception):
    code = "internal"
    message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.detail = message or self.message


class InvalidRequest(DomainError):
    """`field` names what is wrong (a subclass may fix it; a raiser may say it)."""

    code = "invalid_request"
    message = "The request is not valid."
    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class InvalidCursor(InvalidRequest):
    """A list's `cursor` that this server did not hand out, or that was altered."""

    message = "cursor is not valid."
    field = "cursor"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    message = "An API key is required: send `Authorization: Bearer <key>` or the key cookie."


class InvalidKey(DomainError):
    code = "invalid_key"
    message = "The API key is unknown, revoked, disabled or expired."


class Forbidden(DomainError):
    code = "forbidden"
    message = "This request is not allowed."


class Conflict(DomainError):
    code = "conflict"
    message = "The request conflicts with the current state."


class RetryLater(DomainError):
    """The caller may try again, after `retry_after` seconds when that is known (the HTTP
    edge sends it as `Retry-After`)."""

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceeded(RetryLater):
    code = "quota_exceeded"
    message = "Not enough credits left on this key."

    def __init__(
        self,
        message: str | None = None,
        *,
        remaining: int | None = None,
        retry_after: int | None = None,
        refill: Refill | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.remaining = remaining
        self.refill = refill


class RateLimited(RetryLater):
    code = "rate_limited"
    message = "Too many requests; slow down."


class TooManyWaiters(RateLimited):
    """Past the per-key cap of waiting clients (a `RateLimited`, so the edge answers 429)."""

    code = "too_many_waiters"
    message = "This key already has too many requests waiting for jobs; close some first."


class TooManyRequests(RateLimited):
    """Past the per-key cap of concurrent non-waiting requests (429)."""

    code = "too_many_requests"
    message = "This key has too many requests in flight; retry when some have finished."


class JobNotFound(DomainError):
    code = "not_found"
    message = "No such job."


class DeliveryNotFound(JobNotFound):  # a 404 like an unknown job
    code = "not_found"
    message = "No such webhook delivery."


class ImageNotFound(DomainError):
    code = "not_found"
    message = "No such image."


class JobNotCancelable(DomainError):
    code = "job_not_cancelable"
    message = "Only a queued job can be canceled."


class QuotaUnavailable(RetryLater):
    code = "quota_unavailable"
    message = "The quota service is unavailable. Try again shortly."


class QueueUnavailable(DomainError):
    code = "queue_unavailable"
    message = "The job queue is unavailable; your credits were returned. Try again shortly."


class StoreUnavailable(DomainError):
    code = "store_unavailable"
    message = "The job store is unavailable. Try again shortly."


# Operator use cases and key states (issue 12); KeyNotFound has its own 404 at the edge.


class KeyNotFound(DomainError):
    code = "key_not_found"
    message = "No key with this id."


class SelfServeDisabled(Forbidden):
    code = "self_serve_disabled"
    message = "Keys are issued by the operator here: no plan is self-serve."


class KeyDisabled(InvalidKey):
    code = "key_disabled"
    message = "This API key is disabled."


class KeyExpired(InvalidKey):
    code = "key_expired"
    message = "This API key has expired."


class UnknownPlan(InvalidRequest):
    code = "unknown_plan"
    message = "No such plan."

    def __init__(self, name: str) -> None:
        super().__init__(f"No plan named {name!r}.", field="plan")
        self.name = name


# Webhook subscriptions: each names its field.


class InvalidWebhookUrl(InvalidRequest):
    code = "invalid_webhook_url"
    message = "The webhook URL is not allowed."
    field = "webhook.url"


class WebhooksDisabled(InvalidRequest):
    """A webhook asked of a server with no WEBHOOK_SIGNING_KEY (for the operator's events: no
    OPERATOR_WEBHOOK_SECRET), which could not sign it."""

    code = "webhooks_disabled"
    message = "Webhooks are not enabled on this server (no WEBHOOK_SIGNING_KEY)."
    field = "webhook"


# The HTTP edge's own refusals: a request's credentials and its Idempotency-Key.


class AmbiguousCredentials(Unauthenticated):
    """Two keys in one request: which one to charge is the caller's decision, not ours."""

    code = "ambiguous_credentials"
    message = "Send one `Authorization` header and at most one key cookie."


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request."


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


# Generation failures, raised by ImageGenerator adapters.


class GenerationError(DomainError):
    """A generation failed. `transient` ones may be retried; the rest fail the job at once."""

    transient = False
    code = "internal"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnavailable(GenerationError):
    transient = True
    code = "upstream_unavailable"
    message = "The image provider is unavailable."


class UpstreamRateLimited(GenerationError):
    transient = True
    # Deliberately the job's error code of an unavailable provider (DESIGN lists the codes):
    # to the caller both mean "the provider could not take it now"; the class keeps them apart
    # for the retry's countdown and the logs.
    code = "upstream_unavailable"
    message = "The image provider is rate limiting us."


class UpstreamTimeout(GenerationError):
    transient = True
    code = "timeout"
    message = "The image provider did not answer in time."


class ContentPolicyViolation(GenerationError):
    code = "content_policy"
    message = "The image provider's safety system refused this prompt or image."


class UpstreamInvalidRequest(GenerationError):
    code = "invalid_request"
    message = "The image provider refused the request's parameters."


class UpstreamQuotaExhausted(GenerationError):
    code = "upstream_quota"
    message = "The service's image-provider account is out of quota."


class UpstreamAuthError(GenerationError):
    code = "upstream_auth"
    message = "The service's image-provider credentials were refused."
