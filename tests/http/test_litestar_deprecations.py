"""The API is declared in Litestar's current spelling, which Litestar 3 keeps: explicit
`NamedDependency`, `FromPath`, `QueryParameter`, `JSONBody`, `SkipValidation`."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest
from litestar import Litestar, get
from litestar.di import Provide
from litestar.exceptions import LitestarDeprecationWarning
from litestar.testing import TestClient

from entrypoints.http.app import create_app
from tests.fakes.clock import FrozenClock
from tests.http.conftest import ADMIN_TOKEN, SETTINGS, Fakes


def test_the_app_and_its_document_use_no_deprecated_litestar_api() -> None:
    # Recorded rather than raised, so this holds whatever filters a run sets.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = replace(SETTINGS, admin_token=ADMIN_TOKEN)  # the operator routes too
        app = create_app(settings, container_factory=Fakes().container, clock=FrozenClock())
        with TestClient(app) as client:
            assert client.get("/schema/openapi.json").status_code == 200
    deprecations = [w for w in caught if issubclass(w.category, LitestarDeprecationWarning)]
    assert [str(w.message) for w in deprecations] == []


def test_a_deprecated_litestar_use_fails_the_test_that_meets_it() -> None:
    """pyproject's filterwarnings: a deprecation cannot creep back as one more warning."""

    @get("/", dependencies={"answer": Provide(lambda: 42, sync_to_thread=False)})
    async def handler(answer: int) -> int:  # inferred, not `NamedDependency[int]`
        return answer

    with pytest.raises(LitestarDeprecationWarning, match="Inferred dependency field 'answer'"):
        Litestar([handler])
