"""A job is drafted without an owner and only becomes a Job once the charge names the key id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.redis_jobs_codec import encode_draft, encode_job
from domain.models import ImageRequest, JobDraft, JobStatus

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)


def test_owned_by_makes_the_queued_job_of_that_key() -> None:
    draft = JobDraft.new(request=ImageRequest(prompt="p", n=3), now=NOW, ttl=timedelta(hours=1))
    job = draft.owned_by("key_a")
    assert (job.id, job.owner, job.status) == (draft.id, "key_a", JobStatus.QUEUED)
    assert (job.charged, job.expires_at, job.attempts) == (3, NOW + timedelta(hours=1), 0)


def test_a_draft_is_stored_with_the_queued_jobs_fields_but_its_owner() -> None:
    draft = JobDraft.new(
        request=ImageRequest(prompt="p", n=2), now=NOW, ttl=timedelta(days=1), request_id="r"
    )
    fields = encode_job(draft.owned_by("key_a"))
    assert fields.pop("owner") == "key_a"
    assert encode_draft(draft) == fields
