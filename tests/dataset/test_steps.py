"""Grouping units into steps: consecutive, every step non-empty, balanced by visual change and count."""

from __future__ import annotations

import numpy as np

from layertracer.dataset.steps import balanced_cuts, step_ranges, unit_weights


def test_fewer_units_than_steps_repeat_the_last_state() -> None:
    assert balanced_cuts([0.5, 0.3, 0.2], 4) == [1, 2, 3, 3]
    assert step_ranges([1, 2, 3, 3]) == [(0, 1), (1, 2), (2, 3), (3, 3)]


def test_a_big_background_gets_a_step_of_its_own() -> None:
    # A background covering most of the canvas, then twelve small details.
    change = [0.8] + [0.01] * 12
    cuts = balanced_cuts(unit_weights(change, count_weight=0.25), 4)
    assert cuts[0] == 1 and cuts[-1] == 13
    sizes = np.diff([0, *cuts])
    assert (sizes > 0).all() and sizes[1:].max() - sizes[1:].min() <= 1  # details spread evenly


def test_count_only_and_visual_only_weights() -> None:
    # The count term alone splits by number; visual change alone gives each big shape its own step.
    change = [0.3, 0.3, 0.001, 0.001, 0.001, 0.001, 0.3, 0.3]
    assert balanced_cuts(unit_weights(change, 1.0), 4) == [2, 4, 6, 8]
    visual = balanced_cuts(unit_weights(change, 0.0), 4)
    assert visual[0] == 1 and visual[-2:] == [7, 8]  # each big shape has a step of its own
    assert balanced_cuts(unit_weights([0, 0, 0, 0, 0], 0.25), 4)[-1] == 5  # nothing visible: still valid


def test_cuts_are_optimal_by_brute_force() -> None:
    rng = np.random.default_rng(0)
    weights = rng.random(9)
    cuts = balanced_cuts(weights, 4)

    def cost(c):
        bounds = [0, *c]
        return sum(weights[a:b].sum() ** 2 for a, b in zip(bounds, bounds[1:]))

    from itertools import combinations

    best = min(cost([*inner, 9]) for inner in combinations(range(1, 9), 3))
    assert np.isclose(cost(cuts), best)
