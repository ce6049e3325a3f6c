"""How good is one teacher of a profile over teacher seeds, and how far above the students? (not part of the tests)

    python benchmarks/teacher_draws.py --profile quick --teacher transformer --seeds 0,1,2,3 --jobs 2
    python benchmarks/teacher_draws.py --profile docs/examples/quick-glu-transformer.yaml --students 0.334

The teacher is trained once per seed (``teacher_training.seed=s``) in the profile's cache, one process
of ``--threads`` threads per seed, ``--jobs`` at once; a teacher already cached is read, not trained
again. Prints, per seed, the validation PSDS1 at every check and the one selection kept; over seeds,
the mean kept score with its 95 % t interval. With ``--students X`` (the mean validation PSDS1 of the
profile's scratch students, each at the checkpoint it kept, as the teacher's is) it tests issue 14's
target, a teacher at least 0.1 above them: the margin's interval and a one-sided t-test over the
teacher's seeds. One seed is one draw of a teacher, never the configuration's quality.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp

import numpy as np
from scipy import stats

MARGIN = 0.1  # issue 14: teachers at least 0.1 validation PSDS1 above the scratch students


def train_draw(profile: str, overrides: tuple[str, ...], teacher: str, seed: int, threads: int) -> dict:
    import torch

    from sedbench.benchmark import Benchmark
    from sedbench.training.fit import train_teacher

    torch.set_num_threads(threads)
    bench = Benchmark.from_profile(profile, (*overrides, f"teacher_training.seed={seed}"), threads=threads,
                                   progress=False)
    cache = train_teacher(bench, teacher)
    validation = cache.info.validation
    return {"seed": seed, "kept": validation["psds1"], "psds2": validation.get("psds2"),
            "best_step": validation["best_step"], "train_s": cache.info.train_s,
            "history": [(h["step"], h["val_score"][0] if isinstance(h["val_score"], list) else h["val_score"])
                        for h in validation["history"]],
            "cached": not cache.trained_here}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--teacher", default="transformer")
    parser.add_argument("--seeds", default="0,1,2,3", help="teacher seeds, comma-separated")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="key=value, as sedbench --set")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (part of the key)")
    parser.add_argument("--students", type=float, help="the students' mean validation PSDS1, for the margin")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    work = [(args.profile, tuple(args.overrides), args.teacher, s, args.threads) for s in seeds]
    with mp.get_context("spawn").Pool(min(args.jobs, len(work))) as pool:
        draws = pool.starmap(train_draw, work)

    print(f"teacher {args.teacher} of {args.profile}, {args.threads} thread(s), {' '.join(args.overrides)}")
    for d in draws:
        curve = " ".join(f"{score:.3f}" for _, score in d["history"])
        how = "cached" if d["cached"] else f"trained in {d['train_s']:.0f} s"
        steps = [step for step, _ in d["history"]]
        print(f"seed {d['seed']}: validation PSDS1 at steps {steps[0]}-{steps[-1]} ({len(steps)} checks): {curve}; "
              f"kept {d['kept']:.3f} at step {d['best_step']} "
              f"(PSDS2 {d['psds2']:.3f}; {how})")
    kept = np.array([d["kept"] for d in draws])
    if len(kept) < 2 or kept.std() == 0:
        print(f"kept {kept.mean():.3f} on every seed: no spread, no interval")
        return
    low, high = stats.t.interval(0.95, len(kept) - 1, loc=kept.mean(), scale=stats.sem(kept))
    print(f"kept over {len(kept)} seeds: {kept.mean():.3f} ± {kept.std(ddof=1):.3f} (sd), "
          f"95 % CI [{low:.3f}, {high:.3f}]; min {kept.min():.3f}")
    if args.students is not None:
        margin = kept - args.students
        test = stats.ttest_1samp(margin, MARGIN, alternative="greater")
        m_low, m_high = stats.t.interval(0.95, len(kept) - 1, loc=margin.mean(), scale=stats.sem(margin))
        print(f"margin over the students' {args.students:.3f}: {margin.mean():+.3f}, 95 % CI [{m_low:+.3f}, "
              f"{m_high:+.3f}]; every seed above +{MARGIN}: {bool((margin >= MARGIN).all())}; "
              f"one-sided t-test of margin > {MARGIN}: p {test.pvalue:.3f} (the students' mean is taken as "
              "known: its own seed spread is not in this interval)")


if __name__ == "__main__":
    main()
