"""How a lumbar_arch baseline's choice drives false flags as a set grows (simulation).

    python benchmarks/baseline_noise.py [--trials 3000] [--seed 0]

A set of n reps with the hips on the line: straight reps read the silhouette measure with
Gaussian rep-to-rep noise (SD sigma, degrees); up to n/3 of them are arched and read
``--effect`` higher (SD ``--effect-sd``). A rep is flagged when it is at least ``thr`` over the
set's baseline: the least rep ("least", the hip thrust's) or the mean of the lower half
("lower_half", the bridge's; core.measures.arch_baseline). Prints, per noise, set size, baseline
and threshold, the share of straight reps flagged (false flags per rep) and of arched reps
flagged (recall). The measured noise: SD 0.45 deg for the bridge's front crease on clear-cut
clips, 2.2 deg for the hip thrust's back bend (benchmarks/calibrate.py --thresholds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from formcheck.core.measures import arch_baseline  # noqa: E402


def simulate(rng, sigma, n, kind, thr, trials, effect, effect_sd) -> tuple[float, float]:
    fp = tp = n_pos = n_neg = 0
    for _ in range(trials):
        k = int(rng.integers(0, n // 3 + 1))
        x = rng.normal(0.0, sigma, n)
        arched = np.zeros(n, bool)
        arched[:k] = True
        x[arched] += rng.normal(effect, effect_sd, k)
        base, _, _ = arch_baseline([(float(v), 1.0) for v in x], 0.5, kind)
        flag = x - base >= thr
        fp += int((flag & ~arched).sum())
        tp += int((flag & arched).sum())
        n_pos += k
        n_neg += n - k
    return fp / max(n_neg, 1), tp / max(n_pos, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--effect", type=float, default=5.5, help="arch rise, degrees")
    ap.add_argument("--effect-sd", type=float, default=1.2)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    thrs = (2.0, 2.5, 3.0, 3.5)
    print(
        "| noise SD | reps | baseline | "
        + " | ".join(f"rise {t}: FP/rep, recall" for t in thrs)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(thrs))
    for sigma in (0.45, 0.6, 1.0):
        for n in (4, 12):
            for kind in ("least", "lower_half"):
                cells = [
                    simulate(rng, sigma, n, kind, t, a.trials, a.effect, a.effect_sd) for t in thrs
                ]
                print(
                    f"| {sigma} | {n} | {kind} | "
                    + " | ".join(f"{fp:.3f}, {r:.2f}" for fp, r in cells)
                    + " |"
                )


if __name__ == "__main__":
    main()
