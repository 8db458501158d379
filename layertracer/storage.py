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
TEMPORARY_MARK = ".tmp-"  # local writes go to NAME.tmp-UUID first, then are renamed to NAME
# botocore's defaults (60 s timeouts) times s3fs's own retries held one request to a silent S3 endpoint for 7
# minutes: a batch job must fail that row, and the circuit breaker see a dead store, far sooner (README,
# "Reliability", has the measured times). botocore's jittered retries ride out short outages (max_attempts counts
# retries: 4 wait 7.5 s in all on average, at most 15 s); s3fs's retries on top (S3_FS_RETRIES) would repeat
# botocore's whole budget for each read timeout.
S3_CLIENT_DEFAULTS = {"connect_timeout": 3, "read_timeout": 8, "retries": {"max_attempts": 4, "mode": "standard"}}
S3_FS_RETRIES = 1
# Exception classes (by name, at any depth of the cause chain, also as a base class) that mean the store did not
# answer at all: botocore's, aiohttp's, and Python's own ConnectionError/TimeoutError.
CONNECTION_ERRORS = frozenset({
    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
    "ClientConnectorError", "ServerDisconnectedError", "ServerTimeoutError", "ConnectionError", "TimeoutError",
})


class StoreFailure(StorageError):
    """The store failed (not the object: a missing or forbidden key is a plain StorageError): a rerun may succeed."""


class StoreUnreachable(StoreFailure):
    """The store did not answer at all, after its retries: `endpoint` names it (what the circuit breaker counts)."""

    def __init__(self, message: str, endpoint: str | None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


def filesystem(uri: str, storage_options: StorageOptions | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, path inside it) for a URI or local path."""
    try:
        fs, path = url_to_fs(uri, **_with_defaults(uri, storage_options or {}))
    except (ImportError, ValueError) as exc:
        raise StorageError(f"{uri}: unsupported storage ({exc})") from None
    if {"s3", "s3a"} & set(_protocols(fs)):
        fs.retries = S3_FS_RETRIES  # s3fs takes no argument for it; every instance here wants the same
    return fs, path


def endpoint(uri: str, storage_options: StorageOptions | None = None) -> str | None:
    """The server a URI's requests go to (what the circuit breaker counts failures by); None for local files."""
    if not is_remote(uri):
        return None
    options = storage_options or {}
    url = options.get("endpoint_url") or options.get("client_kwargs", {}).get("endpoint_url")
    scheme, rest = uri.split("://", 1)
    if url:
        return str(url)
    return "the AWS S3 endpoint" if scheme in ("s3", "s3a") else f"{scheme}://{rest.split('/', 1)[0]}"


def is_connection_error(exc: BaseException | None) -> bool:
    """Whether `exc` (or an exception it was raised from) says the store did not answer."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if CONNECTION_ERRORS & {cls.__name__ for cls in type(exc).__mro__}:
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def store_failure(uri: str, action: str, exc: Exception, storage_options: StorageOptions | None) -> StoreFailure:
    """The one-line error of a store that failed on `uri`: StoreUnreachable when it did not answer at all."""
    message = f"{uri}: cannot {action} ({exc if isinstance(exc, OSError) else _reason(exc)})"
    if is_connection_error(exc):
        return StoreUnreachable(message, endpoint(uri, storage_options))
    return StoreFailure(message)


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
    except Exception as exc:  # a store's own errors (botocore's EndpointConnectionError, ...) are no OSErrors
        raise store_failure(uri, "read", exc, storage_options) from None


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
    except Exception as exc:
        raise store_failure(uri, "write", exc, storage_options) from None


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
