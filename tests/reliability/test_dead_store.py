"""A store that is down stops the job (the circuit breaker, pipeline/breaker.py) instead of failing every row
slowly; --resume finishes the job once the store is back. Errors of the store and errors of one object are told
apart: only the first count."""

from __future__ import annotations

import json
import time

import pytest
import s3fs
from moto.server import ThreadedMotoServer

from layertracer import storage
from layertracer.pipeline.breaker import CircuitBreaker
from layertracer.pipeline.index import read_index, read_parts
from layertracer.pipeline.rows import ErrorKind, error_kind
from tests.reliability.faults import finish, start_run
from tests.reliability.test_storage_faults import free_port

ROWS = 300


def test_breaker_counts_consecutive_failures_per_endpoint_across_actors():
    breaker = CircuitBreaker(limit=3)
    assert breaker.report("http://a", reached=False, failures=2) is None  # actor 1
    assert breaker.report("http://b", reached=False, failures=2) is None  # another store
    assert breaker.report("http://a", reached=True, failures=0) is None  # actor 2 got through: a starts over
    assert breaker.report("http://a", reached=False, failures=2) is None
    message = breaker.report("http://b", reached=False, failures=1, last_error="s3://x/y.png: cannot read (...)")
    assert message is not None and "the store at http://b did not answer 3 requests in a row" in message
    assert "--resume" in message and breaker.tripped() == message
    assert breaker.report("http://a", reached=True, failures=0) == message  # tripped stays tripped


def test_a_missing_key_is_no_store_failure(s3_server, s3_storage_options):
    fs = s3fs.S3FileSystem(**s3_storage_options)
    fs.mkdir("lt-kinds")
    with pytest.raises(storage.StorageError) as missing:
        storage.read_bytes("s3://lt-kinds/nothing.png", s3_storage_options)
    assert not isinstance(missing.value, storage.StoreFailure) and error_kind(missing.value) == ErrorKind.INPUT
    dead = {**s3_storage_options, "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "config_kwargs": {"retries": {"max_attempts": 0}}}
    with pytest.raises(storage.StoreUnreachable) as down:
        storage.read_bytes("s3://lt-kinds/a.png", dead)
    assert down.value.endpoint == dead["endpoint_url"] and error_kind(down.value) == ErrorKind.STORE
    assert str(down.value).startswith("s3://lt-kinds/a.png: cannot read (EndpointConnectionError: Could not connect")


def test_a_dead_store_stops_the_job_and_resume_finishes_it(ray_local, tmp_path, fault_inputs):
    """300 grid rows on an S3 endpoint where nothing listens (the default retry settings): the job stops with
    one line naming the endpoint and a non-zero exit; with the store back on that port, --resume does them all."""
    port = free_port()
    options = {"key": "testing", "secret": "testing", "endpoint_url": f"http://127.0.0.1:{port}"}
    rows = [{"id": f"r{i:03d}", "kind": "grid", "image": f"s3://lt-back/g{i % 4}.png", "frames": 4}
            for i in range(ROWS)]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = str(tmp_path / "out")
    flags = ("--storage-options", json.dumps(options), "--batch-size", "4")

    started = time.monotonic()
    run = start_run(str(manifest), out, ray_local, *flags)
    output = finish(run)
    print(f"dead store: the job ended in {time.monotonic() - started:.1f} s")  # the README's figure
    last = output.strip().splitlines()[-1]
    assert run.returncode == 1, output[-3000:]
    assert last.startswith(f"layertracer run: error: stopped: the store at {options['endpoint_url']} did not "
                           "answer 5 requests in a row"), output[-3000:]
    written = read_parts(out).to_pylist()
    assert all(r["status"] == "error" and r["error_kind"] == "store" for r in written) and len(written) < ROWS

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
        fs.mkdir("lt-back")
        for variant in range(4):
            fs.put(str(fault_inputs / f"grid4_{variant}.png"), f"lt-back/g{variant}.png")
        resumed = start_run(str(manifest), out, ray_local, "--resume", *flags, "--index-rows-per-file", "64")
        output = finish(resumed)
    finally:
        server.stop()
    assert resumed.returncode == 0, output[-3000:]
    assert f"layertracer run: {ROWS} ok, 0 error of {ROWS} rows" in output
    latest = read_index(out).to_pylist()
    assert sorted(r["id"] for r in latest) == [r["id"] for r in rows] and {r["status"] for r in latest} == {"ok"}
