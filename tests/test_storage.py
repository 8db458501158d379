import os

import pytest

from layertracer import storage
from layertracer.errors import StorageError


def test_resolve_relative_to_manifest(tmp_path):
    manifest = str(tmp_path / "m" / "rows.jsonl")
    assert storage.resolve("data/a.png", manifest) == str(tmp_path / "m" / "data" / "a.png")
    assert storage.resolve("img/a.png", "s3://bucket/dir/rows.jsonl") == "s3://bucket/dir/img/a.png"
    assert storage.resolve("s3://x/y.png", manifest) == "s3://x/y.png"
    assert storage.resolve("/abs/y.png", manifest) == "/abs/y.png"


def test_atomic_write_leaves_no_temporaries(tmp_path):
    target = str(tmp_path / "deep" / "out.svg")
    storage.write_bytes_atomic(target, b"<svg/>")
    assert open(target, "rb").read() == b"<svg/>"
    assert os.listdir(tmp_path / "deep") == ["out.svg"]


def test_memory_filesystem_round_trip():
    storage.write_bytes_atomic("memory://lt-test/a.bin", b"abc")
    assert storage.read_bytes("memory://lt-test/a.bin") == b"abc"
    assert storage.join("memory://lt-test", "a.bin") == "memory://lt-test/a.bin"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="no such file"):
        storage.read_bytes(str(tmp_path / "nope.png"))


def test_objects_carry_their_content_type(s3_storage_options):
    import s3fs

    fs = s3fs.S3FileSystem(**s3_storage_options)
    fs.mkdir("lt-content-type")
    for name, kind in [("a.svg", "image/svg+xml"), ("report/index.html", "text/html"), ("b.png", "image/png")]:
        storage.write_bytes_atomic(f"s3://lt-content-type/{name}", b"x", s3_storage_options)
        assert fs.info(f"lt-content-type/{name}")["ContentType"] == kind
