"""Identifiers and sizes match whole and in ASCII: `$` also matches before a final newline,
and `\\d` takes any script's digits, which `int()` then reads as numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.fs_images import FilesystemImageStore
from domain.errors import InvalidRequest
from domain.models import GeneratedImage
from domain.plans import PlansFileError, parse_plans
from domain.validation import capabilities_for, is_safe_id

LOOSE = [
    "1024x1024\n",
    "\u0661\u0660\u0662\u0664x\u0661\u0660\u0662\u0664",
    "\uff11\uff10\uff12\uff14x\uff11\uff10\uff12\uff14",
]  # a newline, Arabic-Indic, fullwidth


@pytest.mark.parametrize("model", ["gpt-image-2\n", "gpt-image-2-2026-04-21\n", "gpt-image-2 x"])
def test_a_model_name_with_a_trailing_newline_or_space_is_unknown(model: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        capabilities_for(model)
    assert caught.value.field == "model"


def test_a_dated_snapshot_still_names_its_family() -> None:
    assert capabilities_for("gpt-image-2-2026-04-21") is capabilities_for("gpt-image-2")


@pytest.mark.parametrize("job_id", ["job_a\n", "job_\u0663", "", "x" * 65, "../etc"])
def test_an_unsafe_job_id_never_names_a_folder(tmp_path: Path, job_id: str) -> None:
    assert not is_safe_id(job_id)
    store = FilesystemImageStore(tmp_path)
    with pytest.raises(ValueError, match="invalid job id"):
        store.put(job_id, 1, 0, GeneratedImage(b"png", "image/png"))
    assert store.get(job_id, 1, 0) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", LOOSE)
def test_a_plans_file_size_must_be_plain_widthxheight(size: str) -> None:
    text = f'[plans.a]\ncredits = 1\n[pricing]\nsize = {{ "{size.strip()}" = 2 }}\n'
    if size.endswith("\n"):
        text = text.replace(size.strip(), "1024x1024\\n")
    with pytest.raises(PlansFileError):
        parse_plans(text)
