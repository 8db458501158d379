"""decompose_image on scenes with a known stacking: order, step count, amodal completion, exact last frame."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from layertracer import decompose
from layertracer.decompose import DecomposeOptions, decompose_image
from layertracer.decompose.frames import assign_steps
from layertracer.errors import ImageError
from layertracer.images import decode_image
from layertracer.metrics import mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from tests.decompose.scenes import (
    BACKGROUND,
    BIG_DISCS,
    BLUE,
    EYES,
    ORANGE,
    WHITE,
    app_tile_on_dark,
    close,
    colour_at,
    disc_on_square_on_background,
    face_with_two_eyes,
    ring_on_white,
    square_hole_filled_later,
    square_with_hole_transparent,
    trapezoid_held_at_its_corners,
    two_big_discs,
)

SQUARE_CENTRE = (40, 40)
HIDDEN_CORNER = (78, 78)  # inside the square, under the disc
DISC_OFF_SQUARE = (100, 70)  # inside the disc, outside the square


def test_disc_on_square_on_background_is_built_bottom_up_with_the_square_completed() -> None:
    image = disc_on_square_on_background()
    frames = decompose_image(image, 4)
    assert len(frames) == 4 and all(f.shape == image.shape and f.dtype == np.uint8 for f in frames)
    # Step 1: the background alone, drawn whole (also under the square and the disc).
    for point in (SQUARE_CENTRE, HIDDEN_CORNER, DISC_OFF_SQUARE, (2, 2)):
        assert close(colour_at(frames[0], *point), BACKGROUND)
    # Step 2: the square, whole: its corner under the disc is orange, the disc's other part is not yet drawn.
    assert close(colour_at(frames[1], *SQUARE_CENTRE), ORANGE)
    assert close(colour_at(frames[1], *HIDDEN_CORNER), ORANGE)
    assert close(colour_at(frames[1], *DISC_OFF_SQUARE), BACKGROUND)
    # Step 3: the disc; the picture is complete and the last step repeats it.
    assert np.array_equal(frames[2], image)
    assert np.array_equal(frames[3], image)


def test_corners_that_later_shapes_cover_are_put_back() -> None:
    """A trapezoid's convex hull would cut its covered corners off; its visible sides, extended, meet there."""
    image = trapezoid_held_at_its_corners()
    frames = decompose_image(image, 4)
    drawn = next(f for f in frames if close(colour_at(f, 62, 60), ORANGE))
    assert close(colour_at(drawn, 101, 107), WHITE)  # the hands are not drawn yet
    for x, y in ((25, 98), (103, 98)):  # just inside each covered corner
        assert close(colour_at(drawn, x, y), ORANGE)
    assert close(colour_at(drawn, 16, 60), WHITE)  # nothing beyond the sides
    assert np.array_equal(frames[-1], image)


def test_fewer_regions_than_frames_repeat_the_last_state() -> None:
    image = disc_on_square_on_background()
    frames = decompose_image(image, 9)
    assert len(frames) == 9
    assert not np.array_equal(frames[1], frames[2])
    assert all(np.array_equal(f, image) for f in frames[2:])


def test_small_same_colour_details_are_drawn_in_one_step() -> None:
    """Two eyes are one detail: they appear together, and the layered SVG draws them as one path."""
    image = face_with_two_eyes()
    frames = decompose_image(image, 9)
    (x0, y0, _), (x1, y1, _) = EYES
    first = [next(k for k, f in enumerate(frames) if close(colour_at(f, x, y), BLUE)) for x, y in ((x0, y0), (x1, y1))]
    assert first[0] == first[1] == 1  # face first, then both eyes
    assert all(np.array_equal(f, image) for f in frames[2:])
    layered = vectorize_frames(frames, TraceOptions().for_exact_frames())
    assert layered.n_paths == 2 and layered.n_layers == 9


def test_big_shapes_of_one_colour_keep_a_step_each() -> None:
    """Two discs that are each worth a step are drawn one after the other, though they share a colour."""
    frames = decompose_image(two_big_discs(), 9)
    drawn = [[close(colour_at(f, x, y), BLUE) for x, y, _ in BIG_DISCS] for f in frames]
    assert drawn[0] in ([True, False], [False, True])
    assert drawn[1] == [True, True]


def test_hole_that_a_later_shape_fills_is_filled() -> None:
    image = square_hole_filled_later()
    frames = decompose_image(image, 4)
    assert close(colour_at(frames[0], 52, 52), ORANGE)  # the square first, without its 'hole'
    assert close(colour_at(frames[0], 5, 5), WHITE)
    assert close(colour_at(frames[1], 52, 52), BLUE)
    assert np.array_equal(frames[-1], image)


def test_see_through_hole_stays_transparent() -> None:
    image = square_with_hole_transparent()
    frames = decompose_image(image, 4)
    assert all(f.shape == image.shape for f in frames)  # RGBA in, RGBA out
    for frame in frames:
        assert frame[52, 52, 3] == 0 and frame[2, 2, 3] == 0  # hole and canvas: nothing drawn
        assert frame[25, 25, 3] == 255
    assert all(np.array_equal(f, image) for f in frames)  # one shape: one step, then repeats


def test_white_enclosed_by_a_shape_on_white_is_drawn_on_top() -> None:
    """RGB on white: an enclosed white area is a white shape (eye whites, teeth), drawn after its surround."""
    image = ring_on_white()
    frames = decompose_image(image, 4)
    assert close(colour_at(frames[0], 64, 64), ORANGE)
    assert np.array_equal(frames[1], image)


def test_a_background_that_reaches_the_border_is_in_no_hole_of_the_tile_it_surrounds() -> None:
    """The dark canvas runs along the tile alone, but beyond the image's border too: it is the background, drawn
    first and whole, not a frame laid over a tile completed to a square (which left a seam at the corners)."""
    image = app_tile_on_dark()
    frames = decompose_image(image, 4)
    for point in ((2, 2), (19, 19), (64, 64)):  # the canvas, a rounded corner, under the disc
        assert close(colour_at(frames[0], *point), BACKGROUND)
    assert close(colour_at(frames[1], 19, 19), BACKGROUND)  # the tile's corner stays rounded
    layered = vectorize_frames(frames, TraceOptions().for_exact_frames())
    assert mse(render_svg(layered.svg, image.shape[1], image.shape[0]), image) < 3e-4


@pytest.mark.parametrize("scene,paths", [(disc_on_square_on_background, 3), (square_hole_filled_later, 2)])
def test_layered_svg_of_the_frames_renders_the_input(scene, paths) -> None:
    image = scene()
    layered = vectorize_frames(decompose_image(image, 4), TraceOptions().for_exact_frames())
    rendered = render_svg(layered.svg, image.shape[1], image.shape[0])
    assert mse(rendered, image) < 3e-4
    # Square and disc one path each, the square whole under the disc; a coloured background is drawn too.
    assert layered.n_paths == paths


@pytest.mark.parametrize("background,paths", [((224, 242, 254), 3), ((250, 250, 250), 2)])
def test_a_tinted_background_is_drawn_and_an_off_white_one_is_paper(background, paths) -> None:
    """A pale blue card behind an icon (33 from white, within a model's paper drift of 40 a channel) is drawn; an
    off-white render's paper is not, as the decomposer's empty canvas is white within 24."""
    image = disc_on_square_on_background(background)
    layered = vectorize_frames(decompose_image(image, 4), TraceOptions().for_exact_frames())
    rendered = render_svg(layered.svg, image.shape[1], image.shape[0])
    drawn = background if paths == 3 else WHITE  # paper is left to the page the SVG is shown on
    assert layered.n_paths == paths and close(colour_at(rendered, 3, 3), drawn, 2)
    assert mse(rendered, disc_on_square_on_background(drawn)) < 3e-4


def enlarged_sprite(block: int) -> np.ndarray:
    """A 16 px sprite, a disc of blocks with a box over its lower part and two one-block eyes, enlarged `block`x."""
    blocks = np.full((16, 16, 3), 255, np.uint8)
    yy, xx = np.mgrid[:16, :16]
    blocks[(yy - 8.5) ** 2 + (xx - 7.5) ** 2 <= 36] = (230, 160, 40)
    blocks[9:14, 3:13] = (40, 90, 200)
    blocks[5, 5] = blocks[5, 9] = (20, 20, 20)
    return np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)


def sprite_error(image: np.ndarray, upscale: int | None = None) -> float:
    layered = vectorize_frames(decompose_image(image, 4), TraceOptions().with_upscale(upscale).for_exact_frames())
    assert layered.n_paths == 4  # disc, box and the eyes (one compound path), on white
    return mse(render_svg(layered.svg, *image.shape[1::-1]), image)


def test_pixel_art_of_a_small_render_keeps_every_shade() -> None:
    """A 32 px render of thin rings, enlarged 16x: nearly every block is a shade of anti-aliasing, which the noise
    estimate read as noise of sigma 12 and flattened into a few greys (a sprite of noto's man-biking came out
    posterised, 113x plain vtracer's error). A pixel-art image's pixels are the drawing: the last frame is it."""
    rings = "".join(f'<circle cx="16" cy="16" r="{r}" stroke="{c}"/>'
                    for r, c in zip([3, 5.5, 8, 10.5, 13], ["#777", "#999", "#555", "#aaa", "#666"]))
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
           f'<g fill="none" stroke-width="0.8">{rings}</g></svg>')
    image = np.repeat(np.repeat(render_svg(svg, 32, 32)[..., :3], 16, axis=0), 16, axis=1)
    assert np.array_equal(decompose_image(image, 4)[-1], image)  # 46 levels off before


def test_pixel_art_saved_large_keeps_its_stairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decomposed at its own pixels, a shape that a later one covers is completed block by block; completed at
    the enlarged size, its hull's 45-degree chamfers trace as lobes that show (4x the error)."""
    image = enlarged_sprite(16)
    ours = sprite_error(image)
    monkeypatch.setattr(decompose, "pixel_block", lambda image: 1)
    assert ours < 3e-5 and ours < sprite_error(image) / 2


def test_pixel_art_is_traced_at_2x_at_least() -> None:
    """At 512 px (1x by the trace budget), vtracer straightens the pixel each fill reaches under the next away
    along long block edges; at 2x snapping puts them back on the block grid. An explicit upscale is kept."""
    image = enlarged_sprite(32)
    ours = sprite_error(image)
    assert ours < 2e-5 and ours < sprite_error(image, upscale=1) / 2


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_palette_and_16_bit_images_decompose_through_the_loader() -> None:
    rgb = disc_on_square_on_background()
    palette = decode_image(_png(Image.fromarray(rgb).quantize(colors=32)))
    grey16 = decode_image(_png(Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)))
    for image in (palette, grey16):
        frames = decompose_image(image, 4)
        assert np.array_equal(frames[-1], image)
        assert not np.array_equal(frames[0], image)  # more than one step


def test_large_images_are_downscaled_to_the_trace_size() -> None:
    # 640 x 1280, smoothly enlarged (a nearest-neighbour enlargement would be pixel art: its own blocks are traced)
    image = cv2.resize(disc_on_square_on_background(), (1280, 640), interpolation=cv2.INTER_LINEAR)
    frames = decompose_image(image, 4, DecomposeOptions(trace_px=320))
    assert frames[0].shape == (160, 320, 3)


@pytest.mark.parametrize(
    "image,frames,message",
    [
        (np.zeros((8, 8, 3), np.uint8), 5, "frames must be 4 or 9"),
        (np.zeros((8, 8), np.uint8), 4, "HxWx3 or HxWx4"),
        (np.zeros((8, 8, 3), np.float32), 4, "uint8"),
        (np.zeros((1, 8, 3), np.uint8), 4, "too small"),
    ],
)
def test_bad_input_is_a_user_error(image: np.ndarray, frames: int, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        decompose_image(image, frames)


def test_noise_is_bounded_and_still_ends_at_the_input() -> None:
    """Photos and noise are not icons, but they must decompose quickly into a bounded number of regions."""
    image = np.random.default_rng(0).integers(0, 256, (128, 160, 3), dtype=np.uint8)
    frames = decompose_image(image, 9, DecomposeOptions(max_regions=32))
    assert len(frames) == 9 and np.array_equal(frames[-1], image)


def test_flatten_removes_compression_noise_inside_fills() -> None:
    image = disc_on_square_on_background()
    noise = np.random.default_rng(1).integers(-6, 7, image.shape)
    noisy = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)
    for options in (DecomposeOptions(), DecomposeOptions(flatten_tol=16)):  # by default, as far as noise reaches
        flat = decompose_image(noisy, 4, options)[-1]
        inside_square = flat[30:60, 30:60].reshape(-1, 3)
        assert len(np.unique(inside_square, axis=0)) == 1 and close(inside_square[0], ORANGE, 2)
        assert np.abs(flat.astype(int) - image).max() <= 16 + 6


def test_steps_are_shares_of_the_order_with_details_grouped() -> None:
    areas = np.array([0, 900, 400, 400, 16, 16, 9, 9], np.int64)
    # a body, two big same-colour shapes, two eyes (one element), two small specks of different colours
    elements = [[1], [2, 3], [4, 5], [6], [7]]
    steps = assign_steps(elements, areas, 9)
    assert steps.tolist() == [-1, 0, 1, 2, 3, 3, 4, 5]
    # More units than frames: the regions are cut into runs by their shares, and no step is left empty.
    steps = assign_steps(elements, areas, 4)
    assert steps[0] == -1 and sorted(set(steps[1:].tolist())) == [0, 1, 2, 3]
    assert np.all(np.diff(steps[[1, 2, 3, 4, 5, 6, 7]]) >= 0)
