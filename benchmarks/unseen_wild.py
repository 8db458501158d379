"""Generalisation of the real-input benchmark: its six wild classes made from icons outside the dev bench.

`../shared/bench/wild/dev/` holds 10 files per class; a change tuned to them need not hold on others. This draws
fresh icons, seeded, from Iconify's JSON packages of the same sources (in a folder: `npm install
@iconify-json/fluent-emoji @iconify-json/tabler @iconify-json/simple-icons @iconify-json/twemoji @iconify-json/noto
@iconify-json/fluent-emoji-flat @iconify-json/flat-color-icons`), skips every name the bench uses, and renders them
as `../shared/bench/README.md` says the bench's were made, into a folder laid out like the bench:

- `gradient`: fluent-emoji icons with gradients, 512 px on white, 6% margin
- `line`: tabler stroke icons in one dark colour, 256 px on white
- `logo`: simple-icons logos in one dark colour, 512 px on white, no margin
- `small`, `jpeg`, `transparent`: flat icons (the four flat sets, no gradients, masks or `<use>`) at 64 px on white,
  512 px as JPEG quality 80 (its clean render in `_reference/jpeg/`), 512 px RGBA on a transparent canvas
- `pixel` (a class the bench does not have, for `wild_quality --classes pixel`): flat icons rendered at 32 px on
  white and enlarged 16x by nearest neighbour to 512 px, pixel art as sprite sheets and game assets store it
- `noisy` (a probe class too): flat icons at 512 px on white with Gaussian noise of sigma 3 added, as a generated
  icon or a scan comes (the degraded grids' grain), saved as PNG; their clean renders in `_reference/noisy/`
- `hairline` (a probe class too): tabler stroke icons in one dark colour at 256 px with strokes of 1.6 px
  (stroke-width 0.15 of their 24 units), as technical drawings and thin-line icon styles are drawn
- `thin` (a probe class too): tabler stroke icons in one dark colour at 32 px with strokes of 1.33 px (stroke-width
  1 of 24 units), a UI icon set exported at 1x: no pixel of a curve or slant is fully covered
- asset-archive variants of flat icons (probe classes too, drawn after the others): `dark` (512 px on a dark UI's
  canvas, #1f2937), `tile` (an app icon: the icon inside a rounded square of one colour, 512 px on white),
  `shadow` (512 px with a soft drop shadow, SVG's feDropShadow: blur 6 px, 35% black), `webp` (512 px, lossy WebP
  quality 80, judged against its clean render), `grey` (512 px greyscale PNG), `big` (1024 px, a 2x export) and
  `sticker` (512 px RGBA with the same drop shadow on a transparent canvas: translucent over translucent)

    .venv/bin/python -m benchmarks.unseen_wild --iconify DIR/node_modules/@iconify-json --out OUT [--per-class 10]
    .venv/bin/python -m benchmarks.wild_quality --bench OUT --classes gradient,jpeg,line,logo,small,transparent,pixel
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import DEFAULT_BENCH
from benchmarks.wild_quality import NOISE_SIGMA  # the degraded grids' grain, for the `noisy` class
from layertracer.metrics import render_svg

FLAT_SETS = ("twemoji", "noto", "fluent-emoji-flat", "flat-color-icons")
INKS = ("#15803d", "#0f766e", "#1d4ed8", "#1f2937", "#c2410c", "#b91c1c", "#7e22ce")  # one per line icon or logo
MARGIN = 0.06
DARK = "#1f2937"  # a dark UI's canvas, for the `dark` class
TILES = ("#2563eb", "#16a34a", "#f59e0b", "#db2777", "#0f172a")  # app tile colours, for the `tile` class


def bench_names(bench: Path) -> set[str]:
    """Every icon name the dev bench uses (the part after SOURCE__), in any class."""
    files = [*(bench / "icons" / "dev").glob("*.svg"), *(bench / "wild" / "dev").rglob("*.*")]
    return {path.stem.split("__", 1)[-1] for path in files}


def draw(iconify: Path, source: str, taken: set[str], rng: random.Random,
         accept: Callable[[str], bool]) -> Iterator[tuple[str, str, float, float]]:
    """(name, body, width, height) of the source's icons not `taken` whose body is `accept`ed, in a seeded order."""
    package = json.loads((iconify / source / "icons.json").read_text())
    names = sorted(name for name in package["icons"] if name not in taken)
    rng.shuffle(names)
    for name in names:
        entry = package["icons"][name]
        if accept(entry["body"]):
            yield name, entry["body"], entry.get("width", package.get("width", 16)), entry.get(
                "height", package.get("height", 16))


def render(body: str, width: float, height: float, px: int, margin: float, on_white: bool = True) -> Image.Image:
    pad = margin * max(width, height)
    box = f"{-pad} {-pad} {width + 2 * pad} {height + 2 * pad}"
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" viewBox="{box}">{body}</svg>'
    return Image.fromarray(render_svg(svg, px, px, background=(255, 255, 255) if on_white else None))


def make(iconify: Path, out: Path, per_class: int, seed: int, bench: Path) -> dict[str, int]:
    """Write the six classes and the probes (pixel art, noisy icons, hairlines, thin strokes) under `out/wild/dev/`;
    the files written per class."""
    rng = random.Random(seed)
    taken = bench_names(bench)
    root = out / "wild" / "dev"
    written: dict[str, int] = {}

    def save(cls: str, items: Iterator[tuple[str, Image.Image]], suffix: str = ".png", **params) -> None:
        (root / cls).mkdir(parents=True, exist_ok=True)
        written[cls] = 0
        for name, image in items:
            image.save(root / cls / f"{name}{suffix}", **params)
            written[cls] += 1

    def first(
        source: str, accept: Callable[[str], bool], count: int = per_class
    ) -> list[tuple[str, str, float, float]]:
        return [item for _, item in zip(range(count), draw(iconify, source, taken, rng, accept))]

    # resvg fails on some fluent-emoji filters at some sizes (`metrics.render_svg`): those icons are passed over.
    gradients = first("fluent-emoji", lambda body: "Gradient" in body, 3 * per_class)
    save("gradient", [(f"fluent-emoji__{n}", image) for n, image in _drawable(gradients, 512)][:per_class])
    save("line", ((f"tabler__{n}", render(b.replace("currentColor", rng.choice(INKS)), w, h, 256, 0.0))
                  for n, b, w, h in first("tabler", lambda body: True)))
    save("logo", ((f"simple-icons__{n}", render(f'<g fill="{rng.choice(INKS)}">{b}</g>', w, h, 512, 0.0))
                  for n, b, w, h in first("simple-icons", lambda body: True)))
    flat = [(f"{source}__{n}", b, w, h) for source in FLAT_SETS for n, b, w, h in first(source, _flat)]
    rng.shuffle(flat)
    small, jpeg, transparent, pixel = (flat[k * per_class : (k + 1) * per_class] for k in range(4))
    save("small", ((n, render(b, w, h, 64, MARGIN)) for n, b, w, h in small))
    save("_reference/jpeg", ((n, render(b, w, h, 512, MARGIN)) for n, b, w, h in jpeg))
    save("jpeg", ((n, render(b, w, h, 512, MARGIN)) for n, b, w, h in jpeg), ".jpg", quality=80)
    save("transparent", ((n, render(b, w, h, 512, MARGIN, on_white=False)) for n, b, w, h in transparent))
    save("pixel", ((n, render(b, w, h, 32, MARGIN).resize((512, 512), Image.NEAREST)) for n, b, w, h in pixel))
    # Drawn last, so that the classes above keep the icons they had before this one came.
    noisy = [(f"{source}__{n}", b, w, h) for source in FLAT_SETS for n, b, w, h in first(source, _flat)]
    noisy = rng.sample(noisy, min(per_class, len(noisy)))
    save("_reference/noisy", ((n, render(b, w, h, 512, MARGIN)) for n, b, w, h in noisy))
    grain = np.random.default_rng(seed)
    save("noisy", ((n, _with_noise(render(b, w, h, 512, MARGIN), NOISE_SIGMA, grain)) for n, b, w, h in noisy))
    hairlines = first("tabler", lambda body: True)
    save("hairline", ((f"tabler__{n}", render(_restroked(b, rng.choice(INKS), 0.15), w, h, 256, 0.0))
                      for n, b, w, h in hairlines))
    thin = first("tabler", lambda body: True)
    save("thin", ((f"tabler__{n}", render(_restroked(b, rng.choice(INKS), 1.0), w, h, 32, 0.0))
                  for n, b, w, h in thin))
    archive = [(f"{source}__{n}", b, w, h) for source in FLAT_SETS
               for n, b, w, h in first(source, _flat, 2 * per_class)]
    rng.shuffle(archive)
    dark, tile, shadow, webp, grey, big, sticker = (archive[k * per_class : (k + 1) * per_class] for k in range(7))
    save("dark", ((n, render(f'<rect x="-50%" y="-50%" width="200%" height="200%" fill="{DARK}"/>{b}', w, h, 512,
                             MARGIN)) for n, b, w, h in dark))
    save("tile", ((n, render(_tiled(b, w, h, rng.choice(TILES)), 1, 1, 512, 0.0)) for n, b, w, h in tile))
    save("shadow", ((n, render(_shadowed(b, w, h), w, h, 512, MARGIN)) for n, b, w, h in shadow))
    save("_reference/webp", ((n, render(b, w, h, 512, MARGIN)) for n, b, w, h in webp))
    save("webp", ((n, render(b, w, h, 512, MARGIN)) for n, b, w, h in webp), ".webp", quality=80)
    save("grey", ((n, render(b, w, h, 512, MARGIN).convert("L")) for n, b, w, h in grey))
    save("big", ((n, render(b, w, h, 1024, MARGIN)) for n, b, w, h in big))
    save("sticker", ((n, render(_shadowed(b, w, h), w, h, 512, MARGIN, on_white=False)) for n, b, w, h in sticker))
    return written


def _shadowed(body: str, width: float, height: float) -> str:
    """The body with a soft drop shadow, as a designer adds one: SVG's feDropShadow, 35% black, blurred ~6 px."""
    return (f'<defs><filter id="shadow"><feDropShadow dx="{width / 80}" dy="{height / 50}" '
            f'stdDeviation="{width / 85}" flood-opacity="0.35"/></filter></defs><g filter="url(#shadow)">{body}</g>')


def _drawable(icons: list[tuple[str, str, float, float]], px: int) -> Iterator[tuple[str, Image.Image]]:
    """(name, render at `px`) of the icons resvg can draw at that size."""
    for name, body, width, height in icons:
        try:
            yield name, render(body, width, height, px, MARGIN)
        except RuntimeError:
            continue


def _flat(body: str) -> bool:
    """A flat icon: no gradients, masks or `<use>` references."""
    return not any(k in body for k in ("Gradient", "mask", "<use"))


def _tiled(body: str, width: float, height: float, colour: str) -> str:
    """An app icon's body in a unit square: a rounded square of `colour`, the icon inside it at 70%."""
    side = max(width, height)
    return (f'<rect x="0.03" y="0.03" width="0.94" height="0.94" rx="0.22" fill="{colour}"/>'
            f'<svg x="0.15" y="0.15" width="0.7" height="0.7" viewBox="0 0 {side} {side}">{body}</svg>')


def _restroked(body: str, ink: str, width: float) -> str:
    """A tabler icon's body in `ink` with strokes `width` of its 24 units wide (0.15: 1.6 px at 256 px)."""
    body = body.replace('stroke-width="2"', "").replace("currentColor", ink)
    return f'<g stroke-width="{width}">' + body + "</g>"


def _with_noise(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(image, np.float64)
    return Image.fromarray(np.clip(np.round(pixels + rng.normal(0, sigma, pixels.shape)), 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iconify", type=Path, required=True, help="folder holding SET/icons.json (@iconify-json)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write OUT/wild/dev/CLASS/ into")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="the dev bench, whose names are skipped")
    args = parser.parse_args()
    written = make(args.iconify, args.out, args.per_class, args.seed, args.bench)
    print(", ".join(f"{cls}: {count}" for cls, count in written.items()))
    classes = ",".join(sorted(cls for cls in written if not cls.startswith("_")))
    print(f"then: python -m benchmarks.wild_quality --bench {args.out} --classes {classes}")


if __name__ == "__main__":
    main()
