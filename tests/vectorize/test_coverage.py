"""A step's raster: its solid core, and upscaling where two fills meet (the boundary moves to where their blend
puts it)."""

import re

import cv2
import numpy as np
import pytest

from layertracer.decompose import decompose_image
from layertracer.images import matching_neighbours
from layertracer.metrics import mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.coverage import core, crop_step, layer_raster, upscale_fills
from layertracer.vectorize.masks import MaskOptions, foreground_mask
from layertracer.vectorize.palette import clean_colors, stroke_inks
from layertracer.vectorize.trace import _speckle


def test_a_blend_moves_the_boundary_by_its_share():
    index = np.array([[1, 1, 2, 2]], np.uint8)
    partner = np.array([[1, 2, 2, 2]], np.uint8)
    share = np.array([[1, 0.6, 1, 1]], np.float32)  # pixel 1 is 60% fill 1, 40% fill 2
    # Blown up as it is, the boundary would sit at 4 (between pixels 1 and 2); the blend moves it to 3.
    assert upscale_fills(index, partner, share, 2).tolist() == [[1, 1, 1, 2, 2, 2, 2, 2]] * 2
    share[0, 1] = 0.9  # mostly fill 1: the boundary stays at the pixel's far side
    assert upscale_fills(index, partner, share, 2).tolist() == [[1, 1, 1, 1, 2, 2, 2, 2]] * 2


def test_three_times_and_many_colours():
    """Upscale 3 samples at thirds; a 16-bit index (over 254 colours) works the same way."""
    index = np.array([[300, 300, 301]], np.uint16)
    partner = np.array([[300, 301, 301]], np.uint16)
    share = np.array([[1, 0.5, 1]], np.float32)  # an even blend: the boundary sits in the pixel's middle
    assert upscale_fills(index, partner, share, 3)[0].tolist() == [300, 300, 300, 300, 300, 301, 301, 301, 301]


def test_without_blends_it_is_the_plain_blow_up():
    index = np.random.default_rng(0).integers(1, 4, (20, 30)).astype(np.uint8)
    plain = cv2.resize(index, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(upscale_fills(index, index.copy(), np.ones(index.shape, np.float32), 2), plain)


SIZE = 256
SQUARE = np.array([[40, 40], [216, 40], [216, 216], [40, 216]])
WEDGE = np.array([[40, 216], [216, 60], [216, 216]])


def rendered(*shapes: tuple[np.ndarray, tuple[int, int, int]]) -> np.ndarray:
    """Filled polygons on white, anti-aliased as a renderer draws them (drawn at 4x, then shrunk)."""
    big = np.full((SIZE * 4, SIZE * 4, 3), 255, np.uint8)
    for polygon, color in shapes:
        cv2.fillConvexPoly(big, polygon * 4, color)
    return cv2.resize(big, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def path_commands(svg: str) -> list[int]:
    return [len(re.findall(r"[MLCZ]", d)) for d in re.findall(r' d="([^"]*)"', svg)]


def test_two_fills_meeting_on_a_slant_in_one_step_are_traced_smooth():
    """A blue square and a red wedge drawn together: at 2x the wedge's slanted edge is a few curves, not the
    pixel staircase blown up (hundreds of 2 px steps)."""
    frame = rendered((SQUARE, (40, 90, 200)), (WEDGE, (220, 50, 40)))
    result = vectorize_frames([np.full_like(frame, 255), frame], TraceOptions())
    segments = path_commands(result.svg)
    assert len(segments) == 2 and max(segments) < 150, segments
    assert mse(render_svg(result.svg, SIZE, SIZE), frame) < 3e-4


def test_the_first_step_splits_blends_with_an_enclosed_white_fill():
    """The first step draws an enclosed white (the white of an eye) as a fill, and white is also what lies
    beneath, so an edge pixel fits both the teal/white fill line and the line from beneath. Taken for the
    line from beneath, it would lose its share and the edge would keep the pixel staircase. Edge colours
    from `fluent-emoji-flat__statue-of-liberty`, two of which the line from beneath used to win."""
    teal, white, dark = (114, 204, 180), (255, 255, 255), (73, 181, 157)
    edge = [(246, 251, 250), (166, 223, 208), (219, 242, 236), (140, 213, 194), (175, 226, 212), (202, 235, 226)]
    colors = np.array([teal] * 800 + [white] * 500 + [dark] * 300 + edge, np.uint8)
    clean = clean_colors(colors, np.full_like(colors, 255), base=True)
    share = clean.share[-len(edge):]
    assert (share < 0.98).all() and (share >= 0.5).all(), share
    assert np.allclose(share[1], 0.63, atol=0.03) and np.allclose(share[4], 0.57, atol=0.03)


def test_a_blend_takes_the_fill_next_to_it_when_three_fills_lie_on_one_line():
    """White, light and dark teal lie on one line in colour, so a white/light-teal edge pixel also fits the
    white/dark-teal line; the fill next to it says which edge it is on, and the edge is traced smooth."""
    dark = np.array([[150, 45], [200, 45], [200, 55], [150, 55]])  # somewhere else in the same step
    frame = rendered((SQUARE, (114, 204, 180)), (WEDGE, (255, 255, 255)), (dark, (73, 181, 157)))
    grey = rendered((np.array([[0, 0], [255, 0], [255, 255], [0, 255]]), (128, 128, 128)))
    under = frame.copy()
    under[30:230, 30:230] = grey[30:230, 30:230]
    result = vectorize_frames([under, frame], TraceOptions())
    segments = path_commands(re.search(r'<g id="layer-2"[^>]*>(.*?)</g>', result.svg, re.S).group(1))
    assert len(segments) == 3 and max(segments) < 100, segments  # ~120 each for the two when taken by colour


def test_a_flat_fill_between_two_others_in_colour_keeps_its_colour():
    """Three greys drawn in one step lie on one line in colour, so the middle one's pixels also fit the line
    between the other two. They are inside a flat fill, so they are that fill, never a blend of the other two
    (`noto__person-biking`'s torso came out in the light grey of its bicycle: 1.15x plain vtracer's error, now
    0.29x)."""
    light, middle, dark = (176, 176, 176), (133, 133, 133), (47, 47, 47)
    # A patch a level or two lighter (and not quite grey) shares the middle grey's 5-bit bin, so the fill (the
    # bin's mean) is a hair off the pixels' own colour, while the light-to-dark line runs through it exactly.
    patch = np.array([[100, 100], [130, 100], [130, 130], [100, 130]])
    corner = np.array([[10, 10], [60, 10], [60, 30], [10, 30]])
    far_corner = np.array([[200, 225], [250, 225], [250, 250], [200, 250]])
    frame = rendered((SQUARE, middle), (patch, (135, 134, 134)), (corner, light), (far_corner, dark))
    result = vectorize_frames([np.full_like(frame, 255), frame], TraceOptions())
    render = render_svg(result.svg, SIZE, SIZE)
    assert np.abs(render[60:95, 60:200].astype(int) - middle).max() <= 2
    assert mse(render, frame) < 3e-4


def test_core_drops_the_rim_of_shapes_but_keeps_hairlines_whole():
    mask = np.zeros((40, 40), bool)
    mask[5:15, 5:15] = True  # a square ...
    mask[10, 15:30] = True  # ... with a 1 px stroke leaving it
    mask[25, 2:20] = True  # a hairline on its own
    mask[30:32, 2:20] = True  # a 2 px bar: no pixel has all eight neighbours in the mask
    mask[35, 30] = True  # a single dot
    solid = core(mask)
    square = np.zeros_like(mask)
    square[6:14, 6:14] = True
    assert np.array_equal(solid[:20], square[:20])  # the square's rim and the attached stroke are rim
    assert np.array_equal(solid[20:], mask[20:])  # what has no inside at all is kept as it is


def test_a_step_without_pixels_cleans_to_nothing():
    nothing = np.zeros((0, 3), np.uint8)
    for base in (False, True):
        clean = clean_colors(nothing, nothing, base, np.zeros(0, bool))
        assert clean.table.shape == (0, 3) and clean.row.shape == clean.share.shape == (0,)


def test_hairlines_are_drawn_where_no_solid_pixel_reaches():
    """A stroke 1.6 px wide, anti-aliased, from a dot: its only solid pixels (3 px wide) are in the dot. The rest
    of it lay beyond the rim's reach of any solid pixel and was dropped (30% of it drawn, 5e-3 MSE); its
    coverage now draws it."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="64" fill="#0f766e">'
           '<circle cx="20" cy="32" r="4"/><path d="M20 31.3 L150 28.9 L150 30.5 L20 32.9 Z"/></svg>')
    image = render_svg(svg, 160, 64)
    result = vectorize_frames([image], TraceOptions().for_exact_frames())
    rendered = render_svg(result.svg, 160, 64)
    far = np.zeros(image.shape[:2], bool)
    far[:, 40:145] = image[:, 40:145].min(axis=2) < 128  # the stroke's darker half, well away from the dot
    assert far.sum() > 100 and np.all(rendered[far].min(axis=1) < 160)
    assert result.n_paths == 1 and mse(rendered, image) < 2e-4


def test_a_step_of_hairlines_alone_reads_its_fill_off_all_its_pixels():
    """Tabler's saw wave with 1.6 px strokes: no pixel of it is solid and settled (3 px wide and one colour), so
    the step had no fill to read coverage against and came out empty; its fill is now read off all it changed."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 24 24"><path fill="none" '
           'stroke="#1d4ed8" stroke-linecap="round" stroke-linejoin="round" stroke-width="0.15" '
           'd="M3 12h5l4 8V4l4 8h5"/></svg>')
    image = render_svg(svg, 256, 256)
    result = vectorize_frames([image], TraceOptions().for_exact_frames())
    rendered = render_svg(result.svg, 256, 256)
    inked = image.min(axis=2) < 160
    assert inked.sum() > 500 and np.count_nonzero(rendered[inked].min(axis=1) >= 200) <= inked.sum() // 100
    # Drawn in its ink (not the grey of its blends, as a gradient, 2.5e-4) and as wide as its pixels show.
    assert 'fill="#1d4ed8"' in result.svg
    assert 0.9 < ink(rendered) / ink(image) < 1.1 and mse(rendered, image) < 6e-5


def ink(image: np.ndarray) -> float:
    """How much darker than white an image is, summed over its pixels and channels."""
    return float((255 - image[..., :3].astype(np.float64)).sum())


# Strokes about a pixel wide at 32 px (a UI icon at 1x): curves and a slant, so no pixel of them is fully covered.
THIN_STROKES = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32"><g fill="none" '
                'stroke="#c2410c" stroke-width="1"><circle cx="11.3" cy="12.6" r="6.2"/>'
                '<circle cx="21.7" cy="20.2" r="5.4"/><path d="M3.4 28.1 L28.6 21.3"/></g></svg>')


def test_strokes_that_cover_no_pixel_fully_are_drawn_in_their_ink():
    """Every pixel of them is a blend with the paper, a few pixels each shade: no colour was common enough to be a
    fill, and the only fill found was the white inside the circles. The SVG was one white disc (2.7e-2 MSE)."""
    image = render_svg(THIN_STROKES, 32, 32)[..., :3]
    for frames in ([image], decompose_image(image, 4)):
        result = vectorize_frames(frames, TraceOptions().for_exact_frames())
        rendered = render_svg(result.svg, 32, 32)
        fills = re.findall(r'fill="#([0-9a-f]{6})"', result.svg)
        assert fills and all(np.abs(np.array(list(bytes.fromhex(f))) - [0xC2, 0x41, 0x0C]).max() <= 8 for f in fills)
        assert 0.85 < ink(rendered) / ink(image) < 1.15 and mse(rendered, image) < 4e-3


STROKES_ALONG_ROWS = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
                      '<g fill="none" stroke="#7e22ce" stroke-width="1.33">'
                      '<path d="M4.67 6.67 H27.33 V20 M8 12.67 H22 M4 29 L28 17"/></g></svg>')


def test_the_shades_of_a_stroke_whose_ink_some_pixels_show_are_that_ink():
    """A 1.33 px stroke along a row covers one row fully and a third of the next: its ink is a fill (a band a pixel
    wide), and so is each shade of it where it straddles two rows. Each taken for a fill of its own, the stroke
    came out in the palest of them, a third of its ink missing (7.8e-3 MSE); each colour's pieces under vtracer's
    speck size left the 32 px tabler icons it was seen on blank."""
    image = render_svg(STROKES_ALONG_ROWS, 32, 32)[..., :3]
    for frames in ([image], decompose_image(image, 4)):
        result = vectorize_frames(frames, TraceOptions().for_exact_frames())
        rendered = render_svg(result.svg, 32, 32)
        assert re.findall(r'fill="#([0-9a-f]{6})"', result.svg) == ["7e22ce"]
        assert 0.9 < ink(rendered) / ink(image) < 1.1 and mse(rendered, image) < 1e-3


def test_strokes_inside_a_loop_of_the_first_step_are_strokes():
    """The first step draws the paper a loop encloses (the white of an eye), so its strokes inside lay deep in
    what it changed and were taken for a soft highlight's shades: the icon's shades stayed fills of their own (a
    32 px tabler info-square-rounded came out blank). That paper is, to a stroke, what lies beneath."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
           '<g fill="none" stroke="#7e22ce" stroke-width="1.33">'
           '<path d="M4.67 4.67 H27.33 V27.33 H4.67 Z M10 12.67 H22 M10 19.33 H20"/></g></svg>')
    image = render_svg(svg, 32, 32)[..., :3]
    step = crop_step(np.full_like(image, 255), image, foreground_mask(image, MaskOptions(exact=True)), True, True)
    assert step.changed.sum() > 2 * (image.min(axis=2) < 255).sum()  # the enclosed paper is drawn
    assert layer_raster(step, 16).colors.tolist() == [[126, 34, 206], [255, 255, 255]]
    assert len(layer_raster(step, 16, strokes=False).colors) == 3  # a shade of the ink as a fill of its own


@pytest.mark.parametrize("outline", [
    "M4.67 6.67 H27.33 V26 H4.67 Z",  # along rows and columns: a pixel of ink and a third of the next
    "M5 9 Q5 5 9 5 H23 Q27 5 27 9 V23 Q27 27 23 27 H9 Q5 27 5 23 Z",  # rounded corners
    "M3 12 L14 4 L29 10 L24 28 L6 26 Z",  # slants only: no pixel fully covered
])
def test_a_stroke_around_the_paper_of_a_first_step_is_drawn(outline: str):
    """The first step draws the paper a loop encloses, so a 1.33 px stroke around it lies in the rim its solid core
    leaves out: its ink was nowhere in the core, and where it straddled pixels its blends were taken for paper
    meeting ink, half paper each. The outline came out a third to two thirds missing (6e-3 to 3e-2 MSE)."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
           f'<path fill="none" stroke="#c2410c" stroke-width="1.33" d="{outline}"/></svg>')
    image = render_svg(svg, 32, 32)[..., :3]
    result = vectorize_frames([image], TraceOptions().for_exact_frames())
    rendered = render_svg(result.svg, 32, 32)
    assert 0.75 < ink(rendered) / ink(image) < 1.25 and mse(rendered, image) < 3e-3


@pytest.mark.parametrize("drawing,error", [
    ('<ellipse cx="12" cy="8" rx="8" ry="3"/><path d="M4 8v12M20 8v8"/><circle cx="21" cy="22" r="3"/>'
     '<path d="M23.5 24.5l3 3"/>', 9e-3),  # a database with a magnifier: 1.2e-2 before
    ('<path d="M16 4 L26 28 L16 22 L6 28 Z"/>', 3e-3),  # an arrowhead round a small hole: 7.7e-3 before
])
def test_small_loops_of_thin_strokes_keep_their_holes_and_their_ink(drawing: str, error: float):
    """Each stroke around the paper the first step draws reaches under that paper, and its hole's outline was
    pulled across the stroke onto its outer edge (see `edges._Field.measure`), or the paper was a speck vtracer
    dropped and still counted as covering the hole: half the magnifier's ring and of the ellipse vanished."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
           f'<g fill="none" stroke="#1d4ed8" stroke-width="1.33" stroke-linejoin="round">{drawing}</g></svg>')
    image = render_svg(svg, 32, 32)[..., :3]
    rendered = render_svg(vectorize_frames([image], TraceOptions().for_exact_frames()).svg, 32, 32)
    assert 0.85 < ink(rendered) / ink(image) < 1.2 and mse(rendered, image) < error


def test_only_bands_on_the_line_to_a_band_of_ink_are_its_shades():
    """A shade is a band at most ~2 px wide (no pixel equal to all 4 neighbours) lying on the line from what lay
    beneath to an ink that is a band too; a fill of an in-between colour as wide as a fill (a translucent one) keeps
    its colour, and so does a band of a colour off that line."""
    ink_colour, shade, half, off_line = (126, 34, 206), (169, 108, 222), (190, 144, 230), (169, 108, 120)
    image = np.full((24, 40, 3), 255, np.uint8)
    image[4, 2:38] = ink_colour  # a stroke along a row of pixels
    image[7:9, 2:38] = shade  # the stroke straddling two rows: two thirds of it on each, flat along and across
    image[11:13, 2:38] = off_line  # a 2 px band, not on the line from white to the ink
    image[16:22, 2:38] = half  # a 6 px fill of the ink at half its opacity
    at = np.flatnonzero(image.min(axis=2) < 255)
    rows = image.reshape(-1, 3)[at]
    clean = clean_colors(rows, np.full_like(rows, 255), False, matching_neighbours(image).ravel()[at], True)
    colour = clean.table[clean.row]
    row_of = {tuple(int(v) for v in c): k for k, c in enumerate(clean.table)}
    assert list(clean.ink_rows) == [row_of[ink_colour]] and shade not in row_of  # a blend now, not a fill
    assert (colour[(at >= 11 * 40) & (at < 13 * 40)] == off_line).all() and (colour[at >= 16 * 40] == half).all()


def test_short_strokes_about_a_pixel_wide_are_not_specks():
    """vtracer drops pieces of fewer pixels than the square of its speck size (4 px: 16 px); a stroke 1.33 px wide
    and 5-8 px long is a dash, a tick, the stem of an "i", and a 32 px icon of them came out blank. A stroke ink's
    piece is a speck only where it is shorter than that side."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
           '<g fill="none" stroke="#1d4ed8" stroke-width="1.33" stroke-linecap="round">'
           '<path d="M5 27 L11 21"/><path d="M16 5 L16 10"/><path d="M21.5 18.5 L26 25"/>'
           '<path d="M4 12 L8 13"/></g></svg>')
    image = render_svg(svg, 32, 32)[..., :3]
    result = vectorize_frames([image], TraceOptions().for_exact_frames())
    rendered = render_svg(result.svg, 32, 32)
    assert 0.9 < ink(rendered) / ink(image) < 1.1 and mse(rendered, image) < 1e-3
    assert [_speckle(4, 16, stroke) for stroke in (False, True)] == [64, 32] and _speckle(0, 16, True) == 0


def test_stroke_inks_is_the_farthest_blend_of_colours_no_fill_explains():
    white, ink_colour = np.array([255.0, 255, 255]), np.array([29.0, 78, 216])
    shades = np.array([white + t * (ink_colour - white) for t in np.linspace(0.1, 0.9, 9)], np.float32)
    beneath = np.broadcast_to(white, shades.shape).astype(np.float32)
    weights = np.full(len(shades), 3)
    assert np.allclose(stroke_inks(shades, beneath, weights, np.zeros((0, 3), np.float32)), shades[-1])
    # A fill at the far end explains them all as its blends; so does one of the shades, common enough to be one.
    assert len(stroke_inks(shades, beneath, weights, ink_colour[None].astype(np.float32))) == 0
    assert len(stroke_inks(shades, beneath, weights, shades[-1:])) == 0


def test_a_soft_highlight_is_not_taken_for_a_stroke():
    """A small highlight fading into a fill: its shades too are rare and lie on one line from what lies beneath,
    but most of its ink lies well inside it; traced as a stroke it became a hard white line (2.4x the MSE)."""
    size = 96
    yy, xx = np.mgrid[:size, :size]
    disc = np.full((size, size, 3), 255, np.uint8)
    cv2.circle(disc, (48, 48), 40, (91, 56, 101), -1, cv2.LINE_AA)
    glow = np.exp(-(((xx - 48) / 8.0) ** 2 + ((yy - 60) / 3.0) ** 2))[..., None]
    over = (disc * (1 - glow) + np.array([241, 237, 242]) * glow + 0.5).astype(np.uint8)
    changed = np.any(over != disc, axis=-1)
    at = np.flatnonzero(changed)
    clean = clean_colors(
        over.reshape(-1, 3)[at], disc.reshape(-1, 3)[at], False, matching_neighbours(over).ravel()[at], True
    )
    assert len(clean.ink_rows) == 1  # its colours alone read as a stroke's
    step = crop_step(disc, over, changed, exact=True)
    assert np.array_equal(layer_raster(step, 2).index, layer_raster(step, 2, strokes=False).index)
    image = render_svg(THIN_STROKES, 32, 32)[..., :3]
    hairlines = crop_step(np.full_like(image, 255), image, image.min(axis=2) < 255, base=True, exact=True)
    assert not np.array_equal(layer_raster(hairlines, 2).index, layer_raster(hairlines, 2, strokes=False).index)
