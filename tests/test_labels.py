import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from layertracer.labels import label_boxes


def boxes_by_pixels(labels: np.ndarray, n: int) -> np.ndarray:
    h, w = labels.shape
    out = np.tile(np.int64([h, w, 0, 0]), (n, 1))
    for k in range(n):
        ys, xs = np.nonzero(labels == k)
        if len(ys):
            out[k] = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    return out


def test_boxes_of_runs_and_absent_ids():
    labels = np.zeros((6, 9), np.int32)
    labels[1:3, 2:7] = 2  # a block
    labels[5, 8] = 3  # one pixel in the corner
    labels[0, 0] = 3
    boxes = label_boxes(labels, 5)
    assert boxes.tolist() == [[0, 0, 6, 9], [6, 9, 0, 0], [1, 2, 3, 7], [0, 0, 6, 9], [6, 9, 0, 0]]


@settings(max_examples=200, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 4)))
def test_boxes_match_every_pixel(labels):
    """Runs of any length, one-row and one-column maps: the same boxes as reading every pixel."""
    assert np.array_equal(label_boxes(labels, 6), boxes_by_pixels(labels, 6))
