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
    from layertracer.testing.tiny_flux import build_tiny_pipeline

    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-flux") / "pipeline")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 (a free port), for the session; yields its endpoint URL.

    Nothing global is set: pass credentials and the endpoint explicitly (see `s3_storage_options`). Buckets
    live for the whole session, so each test creates its own bucket name.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage_options(s3_server: str) -> dict:
    """fsspec/s3fs storage options for the session's moto server (any key works there)."""
    return {"key": "testing", "secret": "testing", "endpoint_url": s3_server}


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the session (num_cpus=2, a logical GPU, loopback only); yields the GCS address.

    The logical GPU lets GPU-requesting actors schedule, so GPU stages run their wiring on the CPU with the
    tiny model (torch still sees no CUDA device). Env vars are set before Ray starts so its processes inherit
    them (and restored after): loopback binding, no 30 s drain at shutdown, no token auth (loopback only).
    """
    import shutil
    import tempfile

    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # bind to 127.0.0.1, not the machine's address
    patch.setenv("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "0")
    # else ray.init sets it to "token" in os.environ for every later subprocess
    patch.setenv("RAY_AUTH_MODE", "disabled")
    import ray
    from ray._private import ray_constants

    patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)  # in case ray was imported before the env var
    temp_dir = tempfile.mkdtemp(prefix="lt-ray-")  # short: Ray's socket paths must stay under 107 bytes
    ray.init(
        num_cpus=2, num_gpus=1, include_dashboard=False, object_store_memory=512 * 1024**2,
        _temp_dir=temp_dir, configure_logging=False,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        patch.undo()
        shutil.rmtree(temp_dir, ignore_errors=True)
