"""How good is one teacher of a profile over teacher seeds, and how far above the students? (not part of the tests)

    python benchmarks/teacher_draws.py --profile quick --teacher transformer --seeds 0,1,2 --jobs 2
    python benchmarks/teacher_draws.py --profile quick --students 0.334   # the students' mean, typed

The teacher is trained once per seed (``teacher_training.seed=s``) in the profile's cache, one process
of ``--threads`` threads per seed, ``--jobs`` at once; a teacher already cached is read, not trained
again (seed 0 is the profile's shared teacher, the one ``sedbench run`` trains). Prints, per seed, the
validation PSDS1 at every check and the one selection kept; over seeds, the mean kept score with its
95 % t interval. Then issue 14's target, a teacher at least 0.1 above the students: the students are
the profile's scratch runs in ``--results`` (their validation PSDS1 at the checkpoint each kept, as
the teacher's is; the settings group of the profile as given), tested with Welch's one-sided t-test
of "teacher - students > 0.1" over both seed sets; with one teacher seed, that draw is taken as
known and only the students' spread is tested (a one-sample test: its interval leaves the teacher's
own spread out, so it is narrower than a Welch interval). ``--students X`` takes a typed mean as
known instead (a one-sample test over the teacher's seeds, which leaves the students' spread out).
One seed is one draw of a teacher, never the configuration's quality.
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
    parser.add_argument("--students", type=float,
                        help="the students' mean validation PSDS1, taken as known (default: read from --results)")
    parser.add_argument("--results", default="results", help="where the profile's scratch runs are")
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
    spread = len(kept) >= 2 and kept.std() > 0
    if spread:
        low, high = stats.t.interval(0.95, len(kept) - 1, loc=kept.mean(), scale=stats.sem(kept))
        print(f"kept over {len(kept)} seeds: {kept.mean():.3f} ± {kept.std(ddof=1):.3f} (sd), "
              f"95 % CI [{low:.3f}, {high:.3f}]; min {kept.min():.3f}")
    else:
        every = " on every seed" if len(kept) > 1 else ""
        print(f"kept {kept.mean():.3f}{every}: no teacher spread, no interval")
    if args.students is not None and spread:
        margin = kept - args.students
        test = stats.ttest_1samp(margin, MARGIN, alternative="greater")
        m_low, m_high = stats.t.interval(0.95, len(kept) - 1, loc=margin.mean(), scale=stats.sem(margin))
        print(f"margin over the students' {args.students:.3f} (typed; taken as known): {margin.mean():+.3f}, "
              f"95 % CI [{m_low:+.3f}, {m_high:+.3f}]; every seed above +{MARGIN}: "
              f"{bool((margin >= MARGIN).all())}; one-sided t-test of margin > {MARGIN}: p {test.pvalue:.3f}")
    if args.students is not None:  # a typed mean: nothing sampled on the students' side to test against
        return
    students = scratch_validation(args.profile, tuple(args.overrides), args.results)
    if len(students) < 2:
        print(f"{len(students)} completed scratch run(s) of this settings group in {args.results}: no students' "
              "spread to test against; `sedbench run --methods scratch` trains them, or give --students X")
        return
    print(f"scratch students ({len(students)} seeds, validation PSDS1 kept): "
          f"{' '.join(f'{v:.3f}' for v in students)}; mean {students.mean():.3f}")
    if not spread:  # one teacher draw: only the students' spread is sampled (a one-sample test over them)
        test = stats.ttest_1samp(kept.mean() - MARGIN - students, 0.0, alternative="greater")
        diff = stats.ttest_1samp(kept.mean() - students, 0.0).confidence_interval(0.95)
        print(f"margin {kept.mean() - students.mean():+.3f}, 95 % CI [{diff.low:+.3f}, {diff.high:+.3f}] (the "
              f"teacher's one draw taken as known); one-sided t-test of margin > {MARGIN}: p {test.pvalue:.3f}")
        return
    # Welch: the teacher's and the students' seeds are two samples with their own spreads
    test = stats.ttest_ind(kept - MARGIN, students, equal_var=False, alternative="greater")
    diff = stats.ttest_ind(kept, students, equal_var=False).confidence_interval(0.95)
    print(f"margin {kept.mean() - students.mean():+.3f}, 95 % CI [{diff.low:+.3f}, {diff.high:+.3f}] (Welch); "
          f"every teacher seed above every student + {MARGIN}: {bool(kept.min() >= students.max() + MARGIN)}; "
          f"one-sided Welch t-test of margin > {MARGIN}: p {test.pvalue:.3f}")


def scratch_validation(profile: str, overrides: tuple[str, ...], results: str) -> np.ndarray:
    """The validation PSDS1 each completed scratch run of the profile's settings group kept."""
    from sedbench.benchmark import Benchmark
    from sedbench.results import kept_validation

    bench = Benchmark.from_profile(profile, overrides, progress=False)
    students, notes = kept_validation(results, bench.name, bench.benchmark_hash)
    for note in notes:
        print(f"note: {note}")
    return students.to_numpy()


if __name__ == "__main__":
    main()
