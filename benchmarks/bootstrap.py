"""Speed of the clip-level resampling: one pair of systems on 1,000 eval clips, old loop vs batched.

Synthetic detector outputs (10 classes, 156 frames per 10 s clip), median-filtered as in evaluation.
Both implementations score the same resampled clip sets: the old one (``PsdsStatistics.psds(w)``, one
resample at a time, what sedbench used before) on the first ``--old-resamples`` of them, timed and
extrapolated; the batched one (``PsdsStatistics.psds_many``) on all ``--resamples``. The run checks that
they agree, then prints the timings side by side. Target: one pair at 10,000 resamples in at most
10 s on a 2-core CPU.

    python benchmarks/bootstrap.py [--clips 1000] [--resamples 10000] [--old-resamples 300] [--metric psds1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sedbench.evaluation import PSDS_SETTINGS, psds, scores_from_probs
from sedbench.evaluation.resample import psds_statistics
from sedbench.evaluation.synthetic import make_eval_set
from sedbench.stats import bootstrap_weights, clip_bootstrap, p_floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--old-resamples", type=int, default=300, help="resamples timed with the old loop")
    parser.add_argument("--metric", choices=sorted(PSDS_SETTINGS), default="psds1")
    parser.add_argument("--check", action="store_true", help="Also compare with sed_scores_eval.psds.")
    args = parser.parse_args()

    es = make_eval_set(n_clips=args.clips, n_classes=10, n_frames=156, seed=0)
    systems = []
    for seed, noise in ((1, 1.0), (2, 1.1)):
        frame, _ = es.system(noise, seed=seed)
        systems.append(scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s))
    settings = PSDS_SETTINGS[args.metric]

    t0 = time.perf_counter()
    stats = [psds_statistics(s, es.ground_truth, es.durations, settings) for s in systems]
    t_stats = time.perf_counter() - t0
    weights = bootstrap_weights(stats[0].n_clips, args.resamples, np.random.default_rng(0))
    n_old = min(args.old_resamples, args.resamples)

    t0 = time.perf_counter()
    old = np.array([[st.psds(w) for w in weights[:n_old]] for st in stats])
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = np.array([st.psds_many(weights) for st in stats])
    t_new = time.perf_counter() - t0
    worst = float(np.abs(old - new[:, :n_old]).max())
    if worst > 1e-9:
        raise SystemExit(f"old and new resampling disagree by {worst:g}")

    per_old, per_new = t_old / n_old, t_new / args.resamples
    result = clip_bootstrap(new[0], new[1], [stats[0].psds()], [stats[1].psds()], stats[0].n_clips)
    rows = [
        ("resamples timed", f"{n_old:,}", f"{args.resamples:,}"),
        ("ms per resample (both systems)", f"{1000 * per_old:.2f}", f"{1000 * per_new:.3f}"),
        (
            f"{args.resamples:,} resamples",
            f"{per_old * args.resamples:.1f} s (extrapolated)",
            f"{t_new:.1f} s (measured)",
        ),
        (
            f"one pair: statistics + {args.resamples:,} resamples",
            f"{t_stats + per_old * args.resamples:.1f} s",
            f"{t_stats + t_new:.1f} s",
        ),
    ]
    print(f"{args.clips} clips x 10 classes x 156 frames, {args.metric}")
    print(f"per-clip statistics (both systems, once): {t_stats:.1f} s")
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'old (one at a time)':>24}  {'new (batched)':>16}")
    for name, a, b in rows:
        print(f"{name:{width}}  {a:>24}  {b:>16}")
    print(f"speed-up {per_old / per_new:.1f}x; largest difference on the shared resamples {worst:.1e}")
    print(
        f"clip bootstrap (eval-set uncertainty of these two systems): delta {result.delta:+.4f}  "
        f"95% CI [{result.ci_low:+.4f}, {result.ci_high:+.4f}]  p={result.p:.4f} "
        f"(floor {p_floor(args.resamples):.1g})"
    )
    if args.check:
        t3 = time.perf_counter()
        ref = [psds(s, es.ground_truth, es.durations, settings).value for s in systems]
        print(
            f"sed_scores_eval psds: {ref[0]:.6f} {ref[1]:.6f} ({time.perf_counter() - t3:.1f} s); "
            f"fast path: {stats[0].psds():.6f} {stats[1].psds():.6f}"
        )


if __name__ == "__main__":
    main()
