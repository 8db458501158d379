import io
import re

import cv2
import numpy as np
import pytest
from defusedxml import ElementTree
from PIL import Image

from layertracer.errors import GridError
from layertracer.grid import GridSpec, compose_grid
from layertracer.metrics import count_layers, count_paths, layer_renders, mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames, vectorize_grid
from layertracer.vectorize.masks import shift_image

from .shapes import BLUE, GREEN, RED, SIZE, WHITE, canvas, disc, near, square, square_disc_recolour


def only_layer(svg: str, k: int) -> np.ndarray:
    """Render layer k alone (others emptied), RGBA, so its own pixels can be checked."""
    def keep(match: re.Match) -> str:
        return match.group(0) if match.group(2) == str(k) else match.group(1) + "</g>"

    alone = re.sub(r'(<g id="layer-(\d+)"[^>]*>)(.*?)</g>', keep, svg, flags=re.S)
    return render_svg(alone, SIZE, SIZE, background=None)


def test_square_disc_recolour_gives_exactly_the_expected_layers():
    frames = square_disc_recolour()
    result = vectorize_frames(frames)
    assert result.n_layers == 3 == count_layers(result.svg)
    renders = layer_renders(result.svg, SIZE, SIZE)
    for k, (render, frame) in enumerate(zip(renders, frames), start=1):
        assert mse(render, frame) < 5e-4, f"layers 1..{k} do not match frame {k}"

    layer1, layer2, layer3 = (only_layer(result.svg, k) for k in (1, 2, 3))
    # Layer 1: the blue square alone, background dropped (transparent outside).
    assert near(layer1, 60, 60, BLUE) and layer1[10, 10, 3] == 0
    # Layer 2: just the disc.
    assert near(layer2, 120, 120, RED) and layer2[60, 60, 3] == 0 and layer2[10, 10, 3] == 0
    # Layer 3: the recoloured square; the disc stays red because layer 3 does not repaint it.
    assert near(layer3, 60, 60, GREEN) and layer3[10, 10, 3] == 0
    full = render_svg(result.svg, SIZE, SIZE)
    assert near(full, 120, 120, RED) and near(full, 190, 190, GREEN)
    # Economy: one shape per step.
    assert result.n_paths == count_paths(result.svg) <= 4


def test_erasing_a_shape_repaints_it_in_background_colour():
    f1 = disc(square(canvas(), BLUE), RED)
    f2 = square(canvas(), BLUE)  # the disc is gone again
    result = vectorize_frames([f1, f2])
    full = render_svg(result.svg, SIZE, SIZE)
    assert mse(full, f2) < 5e-4
    assert near(full, 120, 120, BLUE)


def test_a_step_that_adds_nothing_keeps_its_empty_layer():
    f1 = square(canvas(), BLUE)
    f3 = disc(f1, RED)
    result = vectorize_frames([f1, f1.copy(), f3])
    assert result.n_layers == 3
    assert re.search(r'<g id="layer-2"[^>]*></g>', result.svg)
    assert mse(render_svg(result.svg, SIZE, SIZE), f3) < 5e-4


def test_regions_repainted_later_are_dropped_on_request():
    f1 = square(canvas(), BLUE, 100, 150)
    f2 = square(f1, GREEN, 60, 190)  # covers the first square completely
    kept = vectorize_frames([f1, f2])
    assert kept.n_paths == 2  # default: layer 1 still shows frame 1
    assert mse(layer_renders(kept.svg, SIZE, SIZE)[0], f1) < 5e-4
    dropped = vectorize_frames([f1, f2], TraceOptions(drop_covered=True))
    assert re.search(r'<g id="layer-1"[^>]*></g>', dropped.svg)
    assert dropped.n_paths == 1
    assert mse(render_svg(dropped.svg, SIZE, SIZE), f2) < 5e-4


def test_keep_background_makes_layer_one_opaque():
    frames = square_disc_recolour()
    dropped = render_svg(vectorize_frames(frames).svg, SIZE, SIZE, background=None)
    kept = render_svg(vectorize_frames(frames, TraceOptions(keep_background=True)).svg, SIZE, SIZE, background=None)
    assert dropped[5, 5, 3] == 0
    assert kept[5, 5, 3] == 255 and near(kept, 5, 5, WHITE)


def jpeg(image: np.ndarray, quality: int = 90) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_robust_to_jpeg_drift_and_background_shade():
    clean = square_disc_recolour()
    greyer = np.where(clean[0] == 255, 244, clean[0]).astype(np.uint8)  # first cell on a greyer background
    frames = [jpeg(greyer), jpeg(shift_image(clean[1], 2, -1, 255)), jpeg(clean[2])]
    result = vectorize_frames(frames)
    assert result.n_layers == 3
    assert result.n_paths <= 8, "noise, drift or shade became speckle paths"
    # JPEG alone costs ~2e-4 here; plain vtracer on the noisy last frame reaches ~6e-4 with 15 paths.
    assert mse(render_svg(result.svg, SIZE, SIZE), clean[2]) < 2e-3
    # The drifted disc lands where the last frame has it.
    assert near(render_svg(result.svg, SIZE, SIZE), 120, 120, RED, tolerance=20)


def test_transparent_frames_stay_transparent():
    frames = [np.dstack([f, np.where(f.min(axis=-1) < 250, 255, 0).astype(np.uint8)]) for f in square_disc_recolour()]
    result = vectorize_frames(frames)
    rgba = render_svg(result.svg, SIZE, SIZE, background=None)
    assert rgba[5, 5, 3] == 0 and rgba[120, 120, 3] == 255


def test_exact_frames_keep_a_hairline_that_the_noise_filter_would_drop():
    """A 1 px stroke added in a step: a 3x3 median (generated frames' speckle filter) erases it; exact frames
    (the decomposer's) are compared as they are, so it becomes that step's layer."""
    f1 = square(canvas(), BLUE)
    f2 = f1.copy()
    f2[120, 60:190] = RED
    tolerant = vectorize_frames([f1, f2])
    exact = vectorize_frames([f1, f2], TraceOptions().for_exact_frames())
    assert count_paths(tolerant.svg) == 1  # the square only
    layer2 = only_layer(exact.svg, 2)
    assert layer2[120, 70:180, 3].min() > 0 and layer2[100, 100, 3] == 0  # the stroke, nothing else
    assert near(layer2, 120, 125, RED, tolerance=40)


def test_exact_frames_draw_a_light_grey_shape_on_white():
    """13 levels off white is within generated frames' noise allowance, but in exact frames it is a fill."""
    f1 = square(canvas(), BLUE, 20, 100)
    f2 = disc(f1, (242, 242, 242), center=(180, 180), radius=40)
    assert count_paths(vectorize_frames([f1, f2]).svg) == 1  # taken for noise
    exact = vectorize_frames([f1, f2], TraceOptions().for_exact_frames())
    layer2 = only_layer(exact.svg, 2)
    assert near(layer2, 180, 180, (242, 242, 242), tolerance=3) and layer2[60, 60, 3] == 0
    assert mse(render_svg(exact.svg, SIZE, SIZE), f2) < 1e-4


def test_a_translucent_fill_that_looks_like_an_edge_blend_is_told_by_place():
    """Steam over white has the colour of a blend between white and the saucer; only where it lies (inside a
    flat area, not on an edge) says it is a fill. Generated and exact frames both keep it, and the saucer's
    anti-aliased rim, which has such colours too, stays part of the saucer."""
    saucer, steam = (187, 206, 211), (227, 235, 238)  # steam = 40% of the way from white to the saucer
    f1 = disc(canvas(), saucer, center=(90, 150), radius=70)
    f1[30:70, 180:220] = steam
    f2 = disc(f1, RED, center=(90, 150), radius=20)
    for options in (TraceOptions(), TraceOptions().for_exact_frames()):
        svg = vectorize_frames([f1, f2], options).svg
        layer1 = only_layer(svg, 1)
        assert near(layer1, 50, 200, steam, tolerance=3) and near(layer1, 150, 90, saucer, tolerance=3)
        assert re.search(r'<g id="layer-1"[^>]*>(.*?)</g>', svg, re.S).group(1).count("<path") == 2


def test_exact_rgba_frames_ignore_colour_under_full_transparency():
    """Invisible change (RGB under alpha 0) is no step; visible change is."""
    f1 = np.dstack([square(canvas(), BLUE), np.full((SIZE, SIZE), 255, np.uint8)])
    f1[:20, :20] = (0, 0, 0, 0)
    f2 = f1.copy()
    f2[:20, :20] = (255, 255, 255, 0)
    f3 = f2.copy()
    f3[60:100, 60:100, :3] = RED
    result = vectorize_frames([f1, f2, f3], TraceOptions().for_exact_frames())
    assert re.search(r'<g id="layer-2"[^>]*></g>', result.svg)
    assert near(only_layer(result.svg, 3), 80, 80, RED) and only_layer(result.svg, 3)[10, 10, 3] == 0


def test_generated_frames_are_traced_at_2x_and_exact_frames_within_the_pixel_budget():
    """2x places a generated frame's edges to half a pixel; exact frames (the decomposer's) are traced at the
    largest multiple that keeps them within TRACE_BUDGET_PX (1x from 512 px up, as plain vtracer traces); one
    upscale given for both is used for both."""
    frames = square_disc_recolour()

    def view_box(options: TraceOptions, frames: list[np.ndarray] = frames) -> str:
        return ElementTree.fromstring(vectorize_frames(frames, options).svg).get("viewBox")

    assert view_box(TraceOptions()) == f"0 0 {2 * SIZE} {2 * SIZE}"
    assert SIZE == 256 and view_box(TraceOptions().for_exact_frames()) == f"0 0 {2 * SIZE} {2 * SIZE}"
    large = [cv2.resize(frame, (600, 600), interpolation=cv2.INTER_NEAREST) for frame in frames]
    assert view_box(TraceOptions().for_exact_frames(), large) == "0 0 600 600"
    assert view_box(TraceOptions().with_upscale(3).for_exact_frames()) == f"0 0 {3 * SIZE} {3 * SIZE}"
    with pytest.raises(ValueError, match="upscale"):
        TraceOptions(exact_upscale=0)


def test_output_holds_only_svg_g_and_path():
    result = vectorize_frames(square_disc_recolour())
    root = ElementTree.fromstring(result.svg)
    tags = {el.tag.split("}")[-1] for el in root.iter()}
    assert tags <= {"svg", "g", "path"}
    assert root.get("viewBox") and root.get("width") == str(SIZE) and root.get("height") == str(SIZE)
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        assert group.get("{http://www.inkscape.org/namespaces/inkscape}groupmode") == "layer"
    for el in root.iter():
        assert not any(a.startswith("on") or "href" in a for a in el.attrib)


def test_grid_equals_its_frames():
    frames = square_disc_recolour() + [square_disc_recolour()[-1]]
    spec = GridSpec(4)
    assert vectorize_grid(compose_grid(frames, spec), spec).svg == vectorize_frames(frames).svg


@pytest.mark.parametrize(
    "frames,match",
    [
        ([], "no frames"),
        ([canvas(), canvas(size=128)], "differ in size"),
        ([np.zeros((64, 64), np.uint8)], "HxWx3"),
        ([canvas(size=4)], "too small"),
    ],
)
def test_bad_frames_are_clear_errors(frames, match):
    with pytest.raises(GridError, match=match):
        vectorize_frames(frames)


def test_a_coloured_full_bleed_background_is_drawn():
    frames = [square(canvas(BLUE), WHITE, 60, 180)]
    frames.append(disc(frames[0], RED))
    result = vectorize_frames(frames)
    rgba = render_svg(result.svg, SIZE, SIZE, background=None)
    assert rgba[5, 5, 3] == 255 and near(rgba, 5, 5, BLUE)
    assert mse(render_svg(result.svg, SIZE, SIZE), frames[-1]) < 5e-4


def test_pieces_of_one_colour_in_one_step_are_one_compound_path():
    # Step 2 draws two red eyes and a green mouth; step 3 cuts the blue face in two with a white band.
    face = square(canvas(), BLUE)
    eyes = disc(disc(face, RED, (90, 90), 18), RED, (160, 90), 18)
    mouth = disc(eyes, GREEN, (125, 160), 20)
    cut = mouth.copy()
    cut[116:124, 40:201] = WHITE
    frames = [face, mouth, cut]
    result = vectorize_frames(frames)
    paths = re.findall(r'<path d="([^"]*)" fill="([^"]*)"', result.svg)
    fills = [fill for _, fill in paths]
    # Layer 1 the face, layer 2 one red path holding both eyes plus the mouth, layer 3 the white band.
    assert len(paths) == result.n_paths == 4, fills
    red = [d for d, fill in paths if near(np.array([[[int(fill[i:i + 2], 16) for i in (1, 3, 5)]]]), 0, 0, RED)]
    assert len(red) == 1 and red[0].count("M") == 2, "both eyes in one path, one subpath each"
    for k, (render, frame) in enumerate(zip(layer_renders(result.svg, SIZE, SIZE), frames), start=1):
        assert mse(render, frame) < 5e-4, f"layers 1..{k} do not match frame {k}"


def test_compound_path_keeps_holes_and_islands():
    # On a transparent canvas, a ring with a dot inside, one colour, one step: the dot sits in the ring's hole.
    alpha = cv2.circle(np.zeros((SIZE, SIZE), np.uint8), (128, 128), 90, 255, thickness=30, lineType=cv2.LINE_AA)
    alpha = cv2.circle(alpha, (128, 128), 20, 255, thickness=-1, lineType=cv2.LINE_AA)
    frame = np.dstack([np.full((SIZE, SIZE, 3), RED, np.uint8), alpha])
    result = vectorize_frames([frame])
    assert result.n_paths == 1
    assert re.search(r'<path d="([^"]*)"', result.svg).group(1).count("M") == 3  # outline, hole, dot
    render = render_svg(result.svg, SIZE, SIZE, background=None)
    assert mse(render, frame) < 1e-3  # the same as the pieces traced apart: three circles of anti-aliased edge
    assert render[128, 128, 3] == 255 and render[128, 128 + 50, 3] == 0 and render[128, 128 + 90, 3] == 255
