"""Shared fixtures: the benchmark set beside the checkout, and small synthetic images."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BENCH = SHARED / "bench"


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    if not BENCH.is_dir():
        pytest.skip(f"benchmark set not found at {BENCH}")
    return BENCH


@pytest.fixture(scope="session")
def tiny_flux_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random-weight FluxPipeline folder (~1 MB, seeded), built offline once per session."""
    from layertracer.models.tiny import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-flux") / "pipeline")
