"""Fixtures of the pipeline tests."""

from __future__ import annotations

import pytest

from tests.pipeline.icons import Inputs, build_inputs


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return build_inputs(tmp_path_factory.mktemp("pipeline-inputs"))
