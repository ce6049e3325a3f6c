"""Speed of the clip-level paired bootstrap: 1000 resamples, one pair of systems, 1000 eval clips.

Synthetic detector outputs (10 classes, 156 frames per 10 s clip), median-filtered as in evaluation.
Target: under a minute on a 2-core CPU, including the one-off per-clip statistics of both systems.

    python benchmarks/bootstrap.py [--clips 1000] [--resamples 1000] [--metric psds1]
"""

from __future__ import annotations

import argparse
import time

from sedbench.evaluation import PSDS_SETTINGS, psds, scores_from_probs
from sedbench.evaluation.resample import psds_statistics
from sedbench.evaluation.synthetic import make_eval_set
from sedbench.stats import bootstrap_psds_difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=1000)
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
    t1 = time.perf_counter()
    result = bootstrap_psds_difference(stats[0], stats[1], n_resamples=args.resamples)
    t2 = time.perf_counter()

    print(f"{args.clips} clips x 10 classes x 156 frames, {args.metric}, {args.resamples} resamples")
    print(f"per-clip statistics (both systems): {t1 - t0:.1f} s")
    each_ms = 1000 * (t2 - t1) / args.resamples
    print(f"bootstrap resamples:                {t2 - t1:.1f} s ({each_ms:.1f} ms each)")
    print(f"total:                              {t2 - t0:.1f} s")
    print(
        f"delta {result.delta:+.4f}  95% CI [{result.ci_low:+.4f}, {result.ci_high:+.4f}]  p={result.p:.4f}"
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
