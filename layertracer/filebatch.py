"""Directory in, directory out: one output file per input file, on all cores, with a progress bar.

The CLI's answer to "vectorize this folder" without Ray: a process pool (vtracer holds the GIL), each
file's failure reported by name and the others finished. Any exception a file raises, not only a user error,
is that file's one line: one bad file must not cost the rest of a folder. The pool's processes are not forked
from this one (see `opencv.process_context`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path

from tqdm import tqdm

from layertracer.errors import UserError, error_line
from layertracer.opencv import process_context

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")

FileJob = Callable[[str, str], object]  # (input path, output path); raises UserError for bad input


def image_files(directory: str) -> list[Path]:
    """Raster files directly in `directory`, sorted, so output order and names are reproducible."""
    root = Path(directory)
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{directory}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def output_pairs(directory: str, out_dir: str, suffix: str) -> list[tuple[str, str]]:
    """(input, output) paths: same stem, new suffix, in `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    return [(str(p), str(Path(out_dir) / (p.stem + suffix))) for p in image_files(directory)]


def run_files(
    pairs: Sequence[tuple[str, str]], job: FileJob, workers: int | None = None, desc: str = "files"
) -> list[tuple[str, str]]:
    """Run `job` on every pair; returns (input, message) for each one that failed, whatever it raised."""
    workers = workers or os.cpu_count() or 1
    failures: list[tuple[str, str]] = []
    with tqdm(total=len(pairs), desc=desc, unit="file") as bar:
        if workers == 1 or len(pairs) == 1:
            for source, target in pairs:
                _collect(failures, source, partial(job, source, target))
                bar.update()
            return failures
        with ProcessPoolExecutor(max_workers=workers, mp_context=process_context()) as pool:
            futures = {pool.submit(job, source, target): source for source, target in pairs}
            for future in as_completed(futures):
                _collect(failures, futures[future], future.result)
                bar.update()
    return sorted(failures)


def _collect(failures: list[tuple[str, str]], source: str, call: Callable[[], object]) -> None:
    try:
        call()
    except Exception as exc:  # every failure is the file's line, and the others go on
        failures.append((source, failure_line(source, exc)))


def failure_line(source: str, exc: Exception) -> str:
    """One line naming the file: a user error's message, or an unexpected exception's type and first line."""
    message = str(exc) if isinstance(exc, UserError) else f"unexpected {type(exc).__name__}: {error_line(exc)}"
    return message if source in message else f"{source}: {message}"


def report_failures(failures: Sequence[tuple[str, str]], total: int) -> int:
    """Print one line per failed file (messages name their file); exit status 1 if any failed."""
    for _, message in failures:
        print(message, file=sys.stderr)
    if failures:
        print(f"{len(failures)} of {total} files failed", file=sys.stderr)
    return 1 if failures else 0
