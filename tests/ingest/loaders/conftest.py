"""Fixtures for the loader tests: small real files, and no network for any test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.loaders.fixture_files import make_image_only_pdf, make_policy_pdf
from tests.ingest.network_guard import block_network


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


@pytest.fixture
def policy_pdf(tmp_path: Path) -> Path:
    return make_policy_pdf(tmp_path / "sharps-policy.pdf")


@pytest.fixture
def image_only_pdf(tmp_path: Path) -> Path:
    return make_image_only_pdf(tmp_path / "scanned.pdf")
