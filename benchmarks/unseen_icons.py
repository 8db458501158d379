"""Generalisation: images without a model on flat icons outside the dev set, with designer frames made the same way.

The dev bench is what the decomposer was built against; this draws fresh icons from Iconify's JSON packages of the
same sets (`npm install @iconify-json/twemoji @iconify-json/noto @iconify-json/flat-color-icons` in a folder, then
`--iconify FOLDER/node_modules/@iconify-json`), seeded, skipping the dev icons' names and any icon that is not a
plain list of top-level shapes (no gradients, masks, clips or `<use>`). Each icon's creation frames are made as
`../shared/bench/README.md` says the bench's were: its top-level shapes in document order, split into 4 or 9
consecutive groups, frame k showing groups 1..k on white, centred with a 6% margin.

Per icon at `--px` (default 512): `layertracer vectorize`'s path (decompose at 9 frames, trace) against plain
vtracer (MSE on white, paths), and the order agreement with the designers' frames at 4 and 9 frames (as
`benchmarks.image_quality` measures it). `--sizes 48,96` also measures each icon downscaled to those sizes, at
the default upscale against `--upscale 1`.

    .venv/bin/python -m benchmarks.unseen_icons --iconify DIR [--sets twemoji,noto] [--per-set 10] [--seed 7]
        [--px 512] [--sizes 48,96,128] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import register_namespace, tostring

import cv2
import numpy as np
from defusedxml import ElementTree
from tqdm import tqdm

from benchmarks.common import DEFAULT_BENCH, mean, median, plain_vtracer
from benchmarks.image_quality import order_agreement
from layertracer.decompose import decompose_image
from layertracer.metrics import count_paths, mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames

SVG_NS = "http://www.w3.org/2000/svg"
SHAPES = {f"{{{SVG_NS}}}{tag}" for tag in ("path", "circle", "ellipse", "rect", "polygon", "g")}
MARGIN = 0.06
register_namespace("", SVG_NS)  # shapes serialise as <path xmlns="...svg" ...>, which embed as they are


@dataclass(frozen=True)
class Icon:
    name: str
    shapes: list[str]  # top-level shape elements, serialised, in document order
    width: float
    height: float

    def frames(self, count: int, px: int) -> list[np.ndarray]:
        """The creation frames: consecutive groups of shapes, cumulative, rendered at px x px on white."""
        ends = [int(group[-1]) + 1 for group in np.array_split(np.arange(len(self.shapes)), count) if len(group)]
        ends += [len(self.shapes)] * (count - len(ends))  # fewer shapes than frames: the last state repeats
        return [self.render(self.shapes[:end], px) for end in ends]

    def render(self, shapes: list[str], px: int) -> np.ndarray:
        pad = MARGIN * max(self.width, self.height)
        box = f"{-pad} {-pad} {self.width + 2 * pad} {self.height + 2 * pad}"
        svg = f'<svg xmlns="{SVG_NS}" width="{px}" height="{px}" viewBox="{box}">{"".join(shapes)}</svg>'
        return np.ascontiguousarray(render_svg(svg, px, px)[..., :3])


def unseen_icons(root: Path, sets: list[str], per_set: int, seed: int, bench: Path) -> Iterator[Icon]:
    dev = {path.stem.split("__", 1)[1] for path in (bench / "icons" / "dev").glob("*.svg")}
    rng = random.Random(seed)
    for name in sets:
        package = json.loads((root / name / "icons.json").read_text())
        candidates = sorted(set(package["icons"]) - dev)
        rng.shuffle(candidates)
        found = 0
        for icon_name in candidates:
            entry = package["icons"][icon_name]
            icon = _plain_icon(f"{name}__{icon_name}", entry["body"], entry.get("width", package.get("width", 16)),
                               entry.get("height", package.get("height", 16)))
            if icon is not None:
                found += 1
                yield icon
            if found == per_set:
                break


def _plain_icon(name: str, body: str, width: float, height: float) -> Icon | None:
    """The icon if its body is three or more plain top-level shapes with flat fills, else None."""
    if any(word in body for word in ("Gradient", "mask", "clip", "<use", "filter")):
        return None
    root = ElementTree.fromstring(f'<svg xmlns="{SVG_NS}">{body}</svg>')
    children = list(root)
    if len(children) < 3 or any(child.tag not in SHAPES for child in children):
        return None
    shapes = [tostring(child, encoding="unicode") for child in children]
    return Icon(name, shapes, float(width), float(height))


def measure(icon: Icon, px: int, sizes: list[int]) -> dict[str, float | str]:
    row: dict[str, float | str] = {"name": icon.name}
    for count in (4, 9):
        truth = icon.frames(count, px)
        ours_frames = decompose_image(truth[-1], count)
        row[f"order_f{count}"] = order_agreement(truth, ours_frames)
    image = truth[-1]  # the whole icon; its 9-frame decomposition is what `vectorize IMAGE` traces
    ours = vectorize_frames(ours_frames, TraceOptions().for_exact_frames()).svg
    plain = plain_vtracer(image)
    row.update(mse=mse(render_svg(ours, px, px), image), paths=count_paths(ours),
               vt_mse=mse(render_svg(plain, px, px), image), vt_paths=count_paths(plain))
    for size in sizes:
        small = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        frames = decompose_image(small, 9)
        base = mse(render_svg(plain_vtracer(small), size, size), small)
        for key, options in (("default", TraceOptions()), ("1x", TraceOptions().with_upscale(1))):
            svg = vectorize_frames(frames, options.for_exact_frames()).svg
            row[f"px{size}_{key}"] = mse(render_svg(svg, size, size), small) / max(base, 1e-12)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iconify", type=Path, required=True, help="folder holding SET/icons.json (@iconify-json)")
    parser.add_argument("--sets", default="twemoji,noto,flat-color-icons")
    parser.add_argument("--per-set", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--px", type=int, default=512)
    parser.add_argument("--sizes", default="", help="comma-separated smaller sizes for the small-image check")
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    icons = list(unseen_icons(args.iconify, args.sets.split(","), args.per_set, args.seed, args.bench))
    rows = [measure(icon, args.px, sizes) for icon in tqdm(icons, desc="icons")]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))

    def med(key: str) -> float:
        return median([float(row[key]) for row in rows])

    print(f"\n{len(rows)} unseen icons ({args.sets}), {args.px} px, `vectorize IMAGE` defaults (9 frames), medians\n")
    print("| measure | layertracer | plain vtracer | ratio |\n|---|---|---|---|")
    print(f"| MSE | {med('mse'):.2e} | {med('vt_mse'):.2e} | {med('mse') / med('vt_mse'):.2f} |")
    print(f"| paths | {med('paths'):.1f} | {med('vt_paths'):.1f} | {med('paths') / med('vt_paths'):.2f} |")
    for count in (4, 9):
        print(f"| order agreement, {count} frames (median / mean) | {med(f'order_f{count}'):.2f} / "
              f"{mean([float(row[f'order_f{count}']) for row in rows]):.2f} | | |")
    for size in sizes:
        up = TraceOptions().for_exact_frames().upscale_for(size, size)
        closer = sum(float(row[f"px{size}_default"]) < float(row[f"px{size}_1x"]) for row in rows)
        print(f"| {size} px: MSE ratio at {up}x (default) / at 1x | {med(f'px{size}_default'):.2f} | "
              f"{med(f'px{size}_1x'):.2f} | {closer} of {len(rows)} closer |")


if __name__ == "__main__":
    main()
