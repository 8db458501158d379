"""OpenCV runs on one thread while layertracer works, and its setting is put back after."""

import threading

import cv2
import pytest

from layertracer.decompose import decompose_image
from layertracer.opencv import single_threaded
from layertracer.vectorize import vectorize_frames
from tests.vectorize.shapes import square_disc_recolour


def test_single_threaded_sets_one_thread_and_puts_the_setting_back():
    before = cv2.getNumThreads()

    @single_threaded
    def threads_inside(fail: bool) -> int:
        if fail:
            raise RuntimeError("boom")
        return cv2.getNumThreads()

    assert threads_inside(False) == 1
    assert cv2.getNumThreads() == before
    with pytest.raises(RuntimeError):
        threads_inside(True)
    assert cv2.getNumThreads() == before


def _threads_seen_while(work) -> set[int]:
    """OpenCV's thread counts a second thread sees while `work` runs (the setting is process-wide)."""
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.add(cv2.getNumThreads())
            done.wait(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(5):
            work()
    finally:
        done.set()
        watcher.join()
    return seen


@pytest.fixture
def two_threads():
    """OpenCV set to more than one thread, as on any multi-core machine, and put back after."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    yield
    cv2.setNumThreads(before)


def test_vectorizing_and_decomposing_run_opencv_on_one_thread(two_threads):
    frames = square_disc_recolour()
    image = frames[-1]
    seen = _threads_seen_while(lambda: (vectorize_frames(frames), decompose_image(image, 4)))
    assert 1 in seen
    assert cv2.getNumThreads() == 2
