"""Gradient fills: a region whose colour ramps smoothly is one shape with a linear or radial gradient.

A colour segmentation cuts a ramp into bands, one fill and one path each. Here adjacent regions are merged
while one smooth colour field describes the union at least as faithfully as the flat fills it replaces (no
threshold: the bands' own error is the budget), and each merged region is then fitted with an SVG gradient
(least squares: a position along a direction, or a distance from a fitted centre, mapped to colour through a few
evenly spaced stops). Which of flat, linear and radial a region gets is an information criterion's choice
(BIC, with the image's own noise level), so a flat fill with noise stays flat.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

MAX_STOPS = 6  # stops per gradient tried (2..MAX_STOPS); each costs one `<stop>` element
MAX_FIT_PIXELS = 2_000  # larger regions are fitted on a fixed random sample of their pixels
QUANTIZATION_VAR = 1.0 / 12.0  # the variance uint8 rounding alone gives a pixel channel: the noise floor
MAD_TO_SIGMA = 1.4826  # the median absolute deviation of a Gaussian is 0.6745 sigma
# Second differences along a row have sqrt(6) times a pixel's noise (weights 1, -2, 1): a median of one level, what
# a rendered ramp's rounding gives, reads as this sigma
ROUNDING_SIGMA = MAD_TO_SIGMA / np.sqrt(6.0)


@dataclass(frozen=True)
class Gradient:
    """An SVG gradient fill in some user space: `kind` "linear" (geometry x1, y1, x2, y2) or "radial" (cx, cy, r);
    `stops` are (offset 0..1, uint8 RGB) pairs, offsets increasing; `opacity` (0..1] that of every stop."""

    kind: str
    geometry: tuple[float, ...]
    stops: tuple[tuple[float, tuple[int, int, int]], ...]
    opacity: float = 1.0

    @classmethod
    def translucent(cls, color: tuple[int, int, int], opacity: float) -> Gradient:
        """A flat colour of some opacity. The layered-SVG contract carries opacity only as `stop-opacity`, so a
        translucent flat fill is a gradient whose two stops are the same."""
        return cls("linear", (0.0, 0.0, 1.0, 0.0), ((0.0, color), (1.0, color)), opacity)

    def moved(self, scale: float, dx: float, dy: float) -> Gradient:
        """The same gradient in a space where point p lies at p * scale + (dx, dy)."""
        g = self.geometry
        if self.kind == "linear":
            geometry = (g[0] * scale + dx, g[1] * scale + dy, g[2] * scale + dx, g[3] * scale + dy)
        else:
            geometry = (g[0] * scale + dx, g[1] * scale + dy, g[2] * scale)
        return Gradient(self.kind, geometry, self.stops, self.opacity)

    def seen_through(self, opacity: float) -> Gradient:
        """This gradient, fitted to colours seen over white, as the straight colours that at `opacity` look so."""
        stops = tuple((offset, unflatten(color, opacity)) for offset, color in self.stops)
        return Gradient(self.kind, self.geometry, stops, opacity)

    def colors_at(self, xy: np.ndarray) -> np.ndarray:
        """The gradient's float RGB at points `xy` (n x 2), as a renderer pads and interpolates it."""
        g = self.geometry
        if self.kind == "linear":
            span = np.array([g[2] - g[0], g[3] - g[1]])
            t = (xy - [g[0], g[1]]) @ span / max(float(span @ span), 1e-12)
        else:
            t = np.hypot(xy[:, 0] - g[0], xy[:, 1] - g[1]) / max(g[2], 1e-12)
        offsets = [offset for offset, _ in self.stops]
        colors = np.array([color for _, color in self.stops], np.float64)
        return np.stack([np.interp(t, offsets, colors[:, c]) for c in range(3)], axis=-1)

    @property
    def mean_color(self) -> tuple[int, int, int]:
        colors = np.array([color for _, color in self.stops], np.float64)
        return tuple(int(v) for v in np.round(colors.mean(axis=0)))


def unflatten(color: tuple[int, int, int] | np.ndarray, opacity: float) -> tuple[int, int, int]:
    """The straight colour that, at `opacity` over white, looks like `color` (uint8 RGB): `flatten_on_white`
    undone."""
    straight = (np.asarray(color, np.float64) - 255.0 * (1.0 - opacity)) / opacity
    return tuple(int(v) for v in np.clip(np.round(straight), 0, 255))


def noise_variance(rgb: np.ndarray, inside: np.ndarray) -> float:
    """Per-channel pixel noise variance of an HxWx3 image over `inside` pixels, robustly.

    From second differences along rows (a ramp's slope cancels; var = 6 sigma^2), median-based so that edges
    do not count; never under the variance rounding to uint8 gives.
    """
    ok = inside[:, 1:-1] & inside[:, :-2] & inside[:, 2:]
    if not ok.any():
        return QUANTIZATION_VAR
    image = rgb.astype(np.float32)
    second = (image[:, :-2] - 2 * image[:, 1:-1] + image[:, 2:])[ok]
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(second))) / np.sqrt(6.0)
    return max(sigma * sigma, QUANTIZATION_VAR)


def _monomials(xy: np.ndarray) -> np.ndarray:
    """1, x, y, x^2, xy, y^2 per point: the smooth field regions are merged under."""
    x, y = xy[:, 0], xy[:, 1]
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)


@dataclass
class Moments:
    """Sufficient statistics of a region's pixels for a flat and a quadratic colour fit."""

    gram: np.ndarray  # 6 x 6
    cross: np.ndarray  # 6 x 3
    sum_sq: float  # sum of squared colour values
    budget: float  # the flat residual of the regions merged into it: what one field must not exceed
    allowance: float = 0.0  # squared error a field may leave beyond that; 0 unless every region merged had some

    @property
    def n(self) -> float:
        return float(self.gram[0, 0])

    def flat_rss(self) -> float:
        return max(0.0, self.sum_sq - float(self.cross[0] @ self.cross[0]) / max(self.n, 1.0))

    def smooth_rss(self) -> float:
        if self.n < 12:
            return self.flat_rss()
        ridge = 1e-9 * np.trace(self.gram) * np.eye(6)
        coef = np.linalg.solve(self.gram + ridge, self.cross)
        return max(0.0, self.sum_sq - float(np.sum(coef * self.cross)))

    @property
    def limit(self) -> float:
        """The most squared error one field replacing these regions' fills may leave."""
        return self.budget + self.allowance

    def loosened(self, per_pixel: float) -> Moments:
        """The same pixels with `per_pixel` more squared error allowed to whatever field replaces their fill."""
        return Moments(self.gram, self.cross, self.sum_sq, self.budget, per_pixel * self.n)

    def __add__(self, other: Moments) -> Moments:
        # A region without allowance (a flat fill) must not be paid for by a neighbour's: the union has none.
        allowance = self.allowance + other.allowance if self.allowance and other.allowance else 0.0
        return Moments(self.gram + other.gram, self.cross + other.cross, self.sum_sq + other.sum_sq,
                       self.budget + other.budget, allowance)


def region_moments(
    ids: np.ndarray, xs: np.ndarray, ys: np.ndarray, rgb: np.ndarray, n: int, scale: float
) -> list[Moments] | None:
    """Moments of each label 0..n-1 over pixels given by their label `ids`, coordinates (divided by `scale`) and
    colours `rgb`, or None where no region's colour varies by a level per pixel (flat artwork: nothing to ramp,
    and the cheap sums tell)."""
    colors = rgb.astype(np.float64)
    sums = lambda values: np.bincount(ids, weights=values, minlength=n)  # noqa: E731
    count = np.bincount(ids, minlength=n).astype(np.float64)
    mean_sums = np.stack([sums(colors[:, c]) for c in range(3)], -1)
    sum_sq = sums((colors * colors).sum(axis=-1))
    flat = np.maximum(sum_sq - (mean_sums**2).sum(axis=-1) / np.maximum(count, 1.0), 0.0)
    if not np.any(flat[1:] > 3 * count[1:]):
        return None
    terms = _monomials(np.stack([xs, ys], axis=-1).astype(np.float64) / scale)
    gram = np.zeros((n, 6, 6))
    for i in range(6):
        for j in range(i, 6):
            gram[:, i, j] = gram[:, j, i] = count if i == j == 0 else sums(terms[:, i] * terms[:, j])
    cross = np.stack([mean_sums] + [np.stack([sums(terms[:, i] * colors[:, c]) for c in range(3)], -1)
                                    for i in range(1, 6)], 1)
    empty = Moments(np.zeros((6, 6)), np.zeros((6, 3)), 0.0, 0.0)
    return [Moments(gram[k], cross[k], float(sum_sq[k]), float(flat[k])) if count[k] else empty for k in range(n)]


def merge_smooth(moments: list[Moments], pairs: np.ndarray) -> list[tuple[int, int]]:
    """Greedy merging of adjacent regions (`pairs`: k x 2 ids): the merges in order, (a, b) for b joining a.

    Two regions merge while one quadratic colour field fits their union with no more squared error than their
    flat fills had, cheapest merge first (region merging with the bands' error as the budget).
    """
    current = list(moments)
    neighbours: dict[int, set[int]] = {k: set() for k in range(len(moments))}
    for a, b in pairs:
        neighbours[int(a)].add(int(b))
        neighbours[int(b)].add(int(a))
    version = [0] * len(moments)
    heap: list[tuple[float, int, int, int, int]] = []

    def push(a: int, b: int) -> None:
        union = current[a] + current[b]
        slack = union.limit - union.smooth_rss()
        if slack >= 0:
            heapq.heappush(heap, (-slack / max(union.n, 1.0), a, b, version[a], version[b]))

    for a in neighbours:
        for b in neighbours[a]:
            if a < b:
                push(a, b)
    merges = []
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if va != version[a] or vb != version[b]:
            continue
        current[a] = current[a] + current[b]
        merges.append((a, b))
        version[a] += 1
        version[b] = -1
        neighbours[a] = (neighbours[a] | neighbours.pop(b)) - {a, b}
        for c in neighbours[a]:
            neighbours[c] = (neighbours[c] - {b}) | {a}
            push(min(a, c), max(a, c))
    return merges


def fit_gradient(xy: np.ndarray, rgb: np.ndarray, noise_var: float) -> tuple[Gradient | None, float]:
    """The best of flat, linear and radial fills for pixels at `xy` (pixel centres) with colours `rgb`, by BIC
    under `noise_var`: (the gradient, None for flat; its squared error over all pixels).

    A gradient must also be seen: what it explains must outweigh what it leaves (a flat fill whose residual is
    a few stray blends is no ramp, however many pixels make that significant) and exceed one level of uint8.
    """
    n = len(xy)
    if n > MAX_FIT_PIXELS:  # a fixed random sample: a stride through row-major pixels could pick one column
        pick = np.sort(np.random.default_rng(0).choice(n, MAX_FIT_PIXELS, replace=False))
        xy, rgb = xy[pick], rgb[pick]
    xy, rgb = xy.astype(np.float64), rgb.astype(np.float64)
    m = len(xy)
    step = n / m  # squared errors are returned for all n pixels
    flat_rss = float(((rgb - rgb.mean(axis=0)) ** 2).sum())
    best, best_rss = None, flat_rss
    best_cost = _bic(flat_rss, 3, m, noise_var)
    if m < 12 or flat_rss <= 3 * m:  # under one level per channel to explain at all
        return None, flat_rss * step
    channels = [np.ascontiguousarray(rgb[:, c]) for c in range(3)]
    for kind, t, origin in _parameterisations(xy, rgb):
        lo, hi = float(t.min()), float(t.max())
        position = (t - lo) / max(hi - lo, 1e-12)
        for n_stops in range(2, MAX_STOPS + 1):  # more stops while BIC keeps preferring them
            stops, rss = _fit_stops(position, rgb, channels, n_stops)
            cost = _bic(rss, 3 * n_stops + 3, m, noise_var)
            if cost >= best_cost:
                break
            best, best_rss, best_cost = (kind, origin, lo, hi, stops), rss, cost
    explained = flat_rss - best_rss
    if best is None or explained < best_rss or explained <= 3 * m:
        return None, flat_rss * step
    gradient = _gradient(*best)
    if len({color for _, color in gradient.stops}) < 2:  # the ramp rounds away: it is a flat fill
        return None, flat_rss * step
    return gradient, best_rss * step


def _bic(rss: float, k: int, m: int, noise_var: float) -> float:
    return rss / noise_var + k * np.log(3 * m)


def _parameterisations(xy: np.ndarray, rgb: np.ndarray) -> list[tuple[str, np.ndarray, tuple[float, ...]]]:
    """(kind, each pixel's position along the gradient, geometry origin) for a linear and a radial fill.

    Linear: the direction in which the colour changes most (an affine fit). Radial: the centre of an isotropic
    quadratic fit of the colour's main component, a ring's colour being a function of the distance from it.
    """
    centre = xy.mean(axis=0)
    p = xy - centre
    design = np.column_stack([np.ones(len(p)), p])
    slope = np.linalg.lstsq(design, rgb, rcond=None)[0][1:]  # 2 x 3
    u, s, _ = np.linalg.svd(slope)
    out = []
    if s[0] > 0:
        direction = u[:, 0]
        out.append(("linear", p @ direction, (*centre, *direction)))
    colors = rgb - rgb.mean(axis=0)
    main = np.linalg.svd(colors, full_matrices=False)[2][0]
    value = colors @ main
    design = np.column_stack([np.ones(len(p)), p, (p * p).sum(axis=1)])
    a, bx, by, d = np.linalg.lstsq(design, value, rcond=None)[0]
    extent = float(np.abs(p).max()) + 1.0
    if abs(d) * extent > 1e-9:
        cx, cy = _radial_centre(p, value, -bx / (2 * d), -by / (2 * d))
        if np.hypot(cx, cy) < 4 * extent:  # farther, the rings are straight lines: the linear fill's case
            out.append(("radial", np.hypot(p[:, 0] - cx, p[:, 1] - cy), (cx + centre[0], cy + centre[1])))
    return out


def _radial_centre(p: np.ndarray, value: np.ndarray, cx: float, cy: float, rounds: int = 5) -> tuple[float, float]:
    """The centre from which `value` is most nearly a linear function of distance (Gauss-Newton from (cx, cy)).

    The isotropic quadratic's centre is exact for a colour linear in the squared distance; SVG's radial
    gradients are linear in the distance itself, which pulls that centre off for an off-centre region.
    """
    for _ in range(rounds):
        dx, dy = p[:, 0] - cx, p[:, 1] - cy
        r = np.maximum(np.hypot(dx, dy), 1e-6)
        a, b = np.linalg.lstsq(np.column_stack([np.ones(len(r)), r]), value, rcond=None)[0]
        jacobian = np.column_stack([np.ones(len(r)), r, -b * dx / r, -b * dy / r])
        step = np.linalg.lstsq(jacobian, value - a - b * r, rcond=None)[0]
        if not np.all(np.isfinite(step)):
            break
        cx, cy = cx + step[2], cy + step[3]
        if abs(step[2]) + abs(step[3]) < 1e-3:
            break
    return float(cx), float(cy)


def _fit_stops(
    position: np.ndarray, rgb: np.ndarray, channels: list[np.ndarray], n_stops: int
) -> tuple[np.ndarray, float]:
    """Least-squares colours of `n_stops` evenly spaced stops for pixels at `position` (0..1 along the gradient)
    with colours `rgb` (`channels`: its columns, each contiguous), and the squared error."""
    u = position * (n_stops - 1)
    left = np.minimum(u.astype(np.int64), n_stops - 2)
    w = u - left
    rest = 1 - w
    # Each pixel weighs on the two stops around it (hat functions): normal equations by counting.
    sums = lambda at, values: np.bincount(at, weights=values, minlength=n_stops)  # noqa: E731
    gram = np.diag(sums(left, rest**2) + sums(left + 1, w * w))
    off = sums(left, w * rest)[:-1]
    gram += np.diag(off, 1) + np.diag(off, -1)
    rhs = np.stack([sums(left, rest * channel) + sums(left + 1, w * channel) for channel in channels], -1)
    stops = np.clip(np.linalg.solve(gram + 1e-9 * np.eye(n_stops), rhs), 0, 255)
    fitted = stops[left] * rest[:, None] + stops[left + 1] * w[:, None]
    return stops, float(((fitted - rgb) ** 2).sum())


def _gradient(kind: str, origin: tuple[float, ...], lo: float, hi: float, stops: np.ndarray) -> Gradient:
    colors = [tuple(int(v) for v in np.round(color)) for color in stops]
    if kind == "linear":
        cx, cy, dx, dy = origin
        geometry = (cx + dx * lo, cy + dy * lo, cx + dx * hi, cy + dy * hi)
        offsets = np.linspace(0.0, 1.0, len(colors))
    else:
        geometry = (*origin, hi)
        offsets = np.linspace(lo / max(hi, 1e-12), 1.0, len(colors))
    return Gradient(kind, tuple(float(v) for v in geometry), tuple(zip(offsets.tolist(), colors)))
