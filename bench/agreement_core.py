"""Benchmark: Krippendorff's alpha and its 1,000-sample bootstrap in memory (SPEC 8, core part).

    .venv/bin/python bench/agreement_core.py --units 100000 --coders 4

Times ``stats.alpha`` on random ordinal data (values 1-5, each coder close to a per-unit
truth, a share of values missing) already in a NumPy array: the alpha point estimate, and alpha
with a percentile bootstrap of 1,000 unit resamples. For comparison it times the `krippendorff`
package's alpha on the same array, and its alpha on a few explicit unit resamples (the way a
bootstrap has to use it), from which it extrapolates 1,000 resamples. No database: the SPEC 8
target (alpha + 1,000-sample bootstrap for 100,000 items x 4 annotators in under 2 s) is from the
database, which a Django-side benchmark adds on top of these figures.
Every timing is the median of ``--repeats`` runs; the two implementations' alphas are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as c  # noqa: E402
import krippendorff  # noqa: E402
import numpy as np  # noqa: E402

from stats.alpha import krippendorff_alpha, krippendorff_alpha_bootstrap  # noqa: E402

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def reliability_data(units: int, coders: int, missing: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, size=units)
    noise = rng.integers(-1, 2, size=(coders, units)) * (rng.random((coders, units)) < 0.35)
    data = np.clip(truth[None, :] + noise, 1, 5).astype(float)
    data[rng.random(data.shape) < missing] = np.nan
    return data


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--coders", type=int, default=4)
    parser.add_argument("--missing", type=float, default=0.1, help="share of missing values")
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median)")
    parser.add_argument(
        "--package-resamples", type=int, default=5, help="krippendorff-package resamples timed"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(c.machine_line(at_start=True))
    data = reliability_data(args.units, args.coders, args.missing, args.seed)
    print(
        f"data: {args.units:,} units x {args.coders} coders, values 1-5, "
        f"{args.missing:.0%} missing; bootstrap {args.samples:,} resamples"
    )
    print()
    print(f"{'level':<9} {'alpha':>10} {'ours s':>8} {'package s':>10} {'|diff|':>9}")
    for level in LEVELS:
        ours = krippendorff_alpha(data, level=level).alpha
        assert ours is not None
        theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        ours_s = median_seconds(lambda lv=level: krippendorff_alpha(data, level=lv), args.repeats)
        theirs_s = median_seconds(
            lambda lv=level: krippendorff.alpha(reliability_data=data, level_of_measurement=lv),
            max(1, min(args.repeats, 3)),
        )
        print(
            f"{level:<9} {ours:>10.6f} {ours_s:>8.3f} {theirs_s:>10.3f} {abs(ours - theirs):>9.1e}"
        )
    print()

    level = "ordinal"
    result = krippendorff_alpha_bootstrap(data, level=level, n_samples=args.samples, seed=1)
    total_s = median_seconds(
        lambda: krippendorff_alpha_bootstrap(data, level=level, n_samples=args.samples, seed=1),
        args.repeats,
    )
    print(
        f"ours, ordinal alpha + {args.samples:,}-sample bootstrap: {total_s:.3f} s "
        f"(alpha {result.alpha:.6f}, 95% interval [{result.low:.6f}, {result.high:.6f}], "
        f"{result.n_samples} defined resamples)"
    )

    rng = np.random.default_rng(2)
    n_units = data.shape[1]
    k = max(1, args.package_resamples)
    start = time.perf_counter()
    for _ in range(k):
        resample = data[:, rng.integers(0, n_units, n_units)]
        krippendorff.alpha(reliability_data=resample, level_of_measurement=level)
    per_resample = (time.perf_counter() - start) / k
    package_alpha_s = median_seconds(
        lambda: krippendorff.alpha(reliability_data=data, level_of_measurement=level), 1
    )
    extrapolated = package_alpha_s + args.samples * per_resample
    print(
        f"krippendorff package, ordinal alpha: {package_alpha_s:.3f} s; one resample "
        f"{per_resample:.3f} s ({k} measured) -> alpha + {args.samples:,} resamples "
        f"~{extrapolated:.1f} s extrapolated ({extrapolated / total_s:.0f}x ours)"
    )
    print()
    print(c.machine_line())
    target = "met" if total_s < 2.0 else "NOT met"
    print(f"SPEC 8 in-memory part: {total_s:.3f} s < 2 s {target} (the database read comes on top)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
