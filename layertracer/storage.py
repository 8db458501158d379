"""The one URI layer (fsspec): local paths, s3://, gs://, memory:// all read and write the same way."""

from __future__ import annotations

import copy
import mimetypes
import os
import posixpath
import uuid
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from layertracer.errors import StorageError

StorageOptions = dict[str, Any]
# With botocore's defaults (60 s connect and read timeouts) times s3fs's own 5 retries, one request to a silent S3
# endpoint took 7 minutes here: a batch job must fail that row sooner. botocore's jittered retries ride out short
# outages (max_attempts counts retries: 5 wait ~15 s in all on average, at most 31 s).
TEMPORARY_MARK = ".tmp-"  # local writes go to NAME.tmp-UUID first, then are renamed to NAME
S3_CLIENT_DEFAULTS = {"connect_timeout": 5, "read_timeout": 10, "retries": {"max_attempts": 5, "mode": "standard"}}


def filesystem(uri: str, storage_options: StorageOptions | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, path inside it) for a URI or local path."""
    try:
        return url_to_fs(uri, **_with_defaults(uri, storage_options or {}))
    except (ImportError, ValueError) as exc:
        raise StorageError(f"{uri}: unsupported storage ({exc})") from None


def _with_defaults(uri: str, storage_options: StorageOptions) -> StorageOptions:
    """S3 gets bounded timeouts and retries (S3_CLIENT_DEFAULTS) unless the caller's `config_kwargs` say otherwise."""
    if uri.split("://", 1)[0] not in ("s3", "s3a"):
        return storage_options
    config = copy.deepcopy({**S3_CLIENT_DEFAULTS, **storage_options.get("config_kwargs", {})})  # botocore edits it
    return {**storage_options, "config_kwargs": config}


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def join(base: str, *parts: str) -> str:
    """Join path parts onto a URI or local path without losing the scheme."""
    if is_remote(base):
        scheme, rest = base.split("://", 1)
        return f"{scheme}://{posixpath.join(rest, *parts)}"
    return os.path.join(base, *parts)


def resolve(reference: str, relative_to: str) -> str:
    """Resolve a path found inside a file (e.g. a manifest) against that file's own location.

    Absolute paths and URIs pass through, so a manifest and its images can move together to a bucket.
    """
    if "://" in reference or os.path.isabs(reference):
        return reference
    if is_remote(relative_to):
        scheme, rest = relative_to.split("://", 1)
        return f"{scheme}://{posixpath.normpath(posixpath.join(posixpath.dirname(rest), reference))}"
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(relative_to)), reference))


def read_bytes(uri: str, storage_options: StorageOptions | None = None, max_bytes: int | None = None) -> bytes:
    """Whole object as bytes; a missing or unreadable object is a StorageError naming the URI."""
    fs, path = filesystem(uri, storage_options)
    try:
        if max_bytes is not None:
            size = fs.size(path)
            if size is not None and size > max_bytes:
                raise StorageError(f"{uri}: {size} bytes exceeds the limit of {max_bytes}")
        return fs.cat_file(path)
    except StorageError:
        raise
    except FileNotFoundError:
        raise StorageError(f"{uri}: no such file") from None
    except IsADirectoryError:
        raise StorageError(f"{uri}: is a directory") from None
    except PermissionError:
        raise StorageError(f"{uri}: permission denied") from None
    except OSError as exc:
        raise StorageError(f"{uri}: cannot read ({exc})") from None
    except Exception as exc:  # a store's own errors (botocore's EndpointConnectionError, ...) are no OSErrors
        raise StorageError(f"{uri}: cannot read ({_reason(exc)})") from None


def write_bytes_atomic(uri: str, data: bytes, storage_options: StorageOptions | None = None) -> None:
    """Write so that the final name only ever shows the complete object.

    Local files go to a temporary sibling and are renamed; object stores publish an object in one PUT,
    with its content type, so a browser shows an SVG or a report page served from a bucket.
    """
    fs, path = filesystem(uri, storage_options)
    try:
        if {"file", "local"} & set(_protocols(fs)):
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = f"{path}{TEMPORARY_MARK}{uuid.uuid4().hex}"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            fs.pipe_file(path, data, **_content_type(fs, path))
    except OSError as exc:
        raise StorageError(f"{uri}: cannot write ({exc})") from None
    except Exception as exc:
        raise StorageError(f"{uri}: cannot write ({_reason(exc)})") from None


def remove_temporaries(folder_uri: str, storage_options: StorageOptions | None = None) -> int:
    """Delete what writers killed mid-write left in a local folder (their `NAME.tmp-*` files); returns the count.

    Only safe once nothing writes to the folder any more. Object stores have no temporaries (one PUT publishes).
    """
    fs, path = filesystem(folder_uri, storage_options)
    if not {"file", "local"} & set(_protocols(fs)) or not fs.isdir(path):
        return 0
    leftovers = [entry.path for entry in os.scandir(path) if TEMPORARY_MARK in entry.name]
    for leftover in leftovers:
        os.remove(leftover)
    return len(leftovers)


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _content_type(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, str]:
    """The store's own keyword for the object's content type (s3fs and gcsfs spell it differently)."""
    kind = mimetypes.guess_type(path)[0]
    protocols = set(_protocols(fs))
    if kind is None:
        return {}
    if protocols & {"s3", "s3a"}:
        return {"ContentType": kind}
    if protocols & {"gs", "gcs"}:
        return {"content_type": kind}
    return {}


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def exists(uri: str, storage_options: StorageOptions | None = None) -> bool:
    fs, path = filesystem(uri, storage_options)
    return fs.exists(path)
