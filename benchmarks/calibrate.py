"""A/A calibration: how often do the tests call two halves of ONE method's seeds different?

Takes the completed seeds of one method from a results folder (or trains them first with
`sedbench run` when given --train), splits them at random into two pseudo-methods of --n seeds
each, --splits times, and counts how often each test calls them different at --alpha:

* the primary test, the paired t-test over seeds (what `sedbench table` uses for its verdicts);
* the hierarchical bootstrap CI (seeds, then clips) excluding 0, when score files exist;
* the clip-level bootstrap between two single seeds (every pair of distinct seeds), which is what a
  one-seed table used to report: it describes two checkpoints, so it calls seeds of one method
  "different" far more often than alpha, and this shows it.

Random-split rates come with a Clopper-Pearson 95 % interval, which covers the split draw only: it
is as tight with 6 seeds as with 60. With at least 2n+1 seeds the paired t is also evaluated on
every distinct split (no draw), with a delete-one-seed jackknife interval: how much the rate moves
with the choice of seeds, which is the uncertainty that matters for "is the test calibrated".

    python benchmarks/calibrate.py --results results --method scratch --n 3           # existing runs
    python benchmarks/calibrate.py --train --profile quick --method scratch --seeds 0-11 --results results-aa
    python benchmarks/calibrate.py --demo                                             # synthetic, seconds
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import PSDS_SETTINGS
from sedbench.results import load, select_comparable
from sedbench.stats import (
    AAResult,
    aa_false_positive_rate,
    aa_paired_t_exact,
    resampled_psds,
    run_psds_statistics,
)


def parse_seeds(spec: str) -> list[int]:
    if "-" in spec and "," not in spec:
        lo, hi = spec.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in spec.split(",") if s.strip()]


def train(args) -> None:
    seeds = ",".join(str(s) for s in parse_seeds(args.seeds)) + ","  # "5," is seed 5; "5" would be a count
    cmd = [
        sys.executable,
        "-m",
        "sedbench.cli",
        "run",
        "--methods",
        args.method,
        "--seeds",
        seeds,
        "--jobs",
        str(args.jobs),
        "--results",
        str(args.results),
        "--no-table",
    ]
    if args.profile:
        cmd += ["--profile", args.profile]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def seed_values(results, method: str, metric: str, benchmark: str | None, benchmark_hash: str | None):
    runs, notes = select_comparable(load(results), benchmark, benchmark_hash)
    runs = runs[runs["method"] == method].sort_values("seed")
    if runs.empty:
        raise SedbenchError(f"no completed runs of {method} in {results}")
    values = runs[metric].astype(float).to_numpy()
    return runs, values, notes


def calibrate(
    results,
    method: str,
    metric: str,
    n: int,
    splits: int,
    resamples: int,
    alpha: float,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    seed: int = 0,
) -> list[AAResult]:
    runs, values, notes = seed_values(results, method, metric, benchmark, benchmark_hash)
    for note in notes:
        print(f"note: {note}")
    resampled = None
    if metric in PSDS_SETTINGS and resamples > 0:
        try:
            stats = [run_psds_statistics(d, metric) for d in runs["run_dir"]]
            resampled = resampled_psds(stats, resamples, seed)
        except SedbenchError as exc:
            print(f"note: no clip-level tests ({exc})")
    # random splits draw from few distinct ones: ordered halves of n seeds, times the n! seed pairings
    distinct = math.comb(len(values), n) * math.comb(len(values) - n, n) * math.factorial(n)
    print(
        f"{method}, {metric}: {len(values)} seeds ({', '.join(str(int(s)) for s in runs['seed'])}), "
        f"values {', '.join(f'{v:.3f}' for v in values)}; {distinct:,} distinct paired splits; "
        f"mean {values.mean():.4f}, sd {values.std(ddof=1):.4f}; two pseudo-methods of {n} seeds, "
        f"{splits:,} random splits, alpha {alpha}"
    )
    out = aa_false_positive_rate(values, n, splits, alpha, seed, resampled)
    if len(values) > 2 * n:
        # the primary test over every split, with an interval over the choice of seeds (needs 2n+1)
        out.insert(0, aa_paired_t_exact(values, n, alpha))
    else:
        print(f"note: {len(values)} seeds: the seed-jackknife interval needs at least {2 * n + 1}")
    return out


def report(results: list[AAResult], markdown: bool = False) -> str:
    head = ["test", "called different", "rate", "95% CI", "interval over", "reading"]
    rows = []
    for r in results:
        # a split-draw interval speaks about these seeds only; the seed jackknife about the method's seeds
        where = "for this method's seeds" if r.interval_over == "seeds" else "on these seeds"
        if r.ci_high < r.alpha or r.ci_low <= r.alpha <= r.ci_high:
            reading = f"at or below {r.alpha:.0%} {where}"
        else:
            reading = f"above {r.alpha:.0%} {where}: calls one method different too often"
        span = "seeds (jackknife)" if r.interval_over == "seeds" else r.interval_over
        rows.append(
            [r.test, f"{r.positives}/{r.trials}", f"{r.rate:.1%}", f"[{r.ci_low:.1%}, {r.ci_high:.1%}]", span, reading]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


def main(argv: list[str] | None = None) -> list[AAResult]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--benchmark", default=None)
    parser.add_argument("--hash", dest="benchmark_hash", default=None)
    parser.add_argument("--method", default="scratch")
    parser.add_argument("--metric", default="psds1")
    parser.add_argument("--n", type=int, default=3, help="seeds per pseudo-method (the profile's seed count)")
    parser.add_argument("--splits", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=2000, help="clip resamples (0: seed-level tests only)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print the result as a markdown table")
    parser.add_argument("--train", action="store_true", help="first train --seeds of --method with `sedbench run`")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--seeds", default="0-11")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--demo", action="store_true", help="synthetic runs of one method (no training)")
    parser.add_argument("--demo-seeds", type=int, default=12)
    parser.add_argument("--demo-clips", type=int, default=60)
    args = parser.parse_args(argv)

    if args.demo:
        from sedbench.evaluation.synthetic import write_synthetic_results

        args.results = Path(tempfile.mkdtemp(prefix="sedbench-aa-"))
        # training randomness: each seed's detector is a little better or worse as a whole (sd 0.08 of
        # its noise level), on top of its frame-level noise draw
        quality = np.random.default_rng(args.seed).normal(1.1, 0.08, args.demo_seeds)
        for s, noise in enumerate(quality):
            write_synthetic_results(
                args.results,
                methods={args.method: (float(noise), 340_000, 3.1e8)},
                seeds=(s,),
                n_clips=args.demo_clips,
                n_classes=4,
            )
        print(f"demo: {args.demo_seeds} synthetic seeds of one method in {args.results}")
    elif args.train:
        train(args)
    results = calibrate(
        args.results,
        args.method,
        args.metric,
        args.n,
        args.splits,
        args.resamples,
        args.alpha,
        args.benchmark,
        args.benchmark_hash,
        args.seed,
    )
    print(report(results, args.markdown))
    print(
        "Split-draw intervals (Clopper-Pearson) cover the random splits of these seeds only; the jackknife "
        "interval of the every-split rate also covers which seeds were drawn."
    )
    return results


if __name__ == "__main__":
    main()
