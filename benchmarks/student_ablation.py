"""Does the student learn on this profile, and what does each part of it buy? (not part of the tests)

    python benchmarks/student_ablation.py                    # quick, seed 0, the variants below
    python benchmarks/student_ablation.py --jobs 1 --variants skip,plain

Trains ``scratch`` once per variant (the profile's recipe and data, each variant in its own
single-threaded process) and prints, on the validation split: PSDS1, PSDS2, the mean per-class
PSDS1, per-class PSDS1 and per-class frame-level ROC AUC (how well the frame scores rank active
frames over inactive ones, whatever the event boundaries). Variants:

- ``skip``: the profile's student as it is (se-crnn: BiGRU plus a linear skip path to the heads);
- ``plain``: se-crnn without the skip path, the CRNN shape of the DCASE baseline;
- ``skip-supervised``: the skip student trained without mixup and without the mean-teacher
  consistency term, to show what the semi-supervised parts of the recipe cost in a short schedule.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time

import numpy as np

VARIANTS: dict[str, tuple[str, ...]] = {
    "skip": (),
    "plain": ("student.skip=false",),
    "skip-supervised": ("training.mixup_prob=0", "training.consistency_weight=0"),
}


def run_variant(profile: str, overrides: tuple[str, ...], seed: int) -> dict:
    import torch
    from sklearn.metrics import roc_auc_score

    from sedbench.benchmark import Benchmark
    from sedbench.complexity.params import count_params
    from sedbench.runner import train_and_select
    from sedbench.training.engine import predict

    torch.set_num_threads(1)
    bench = Benchmark.from_profile(profile, overrides, progress=False, device="cpu")
    start = time.perf_counter()
    result = train_and_select(bench, "scratch", seed)
    train_s = time.perf_counter() - start
    val = bench.validation
    frames, _ = predict(result.partitions[0].deployed, val, torch.device("cpu"))
    truth = np.stack([bench.encoder.strong(val.ground_truth.get(c, [])) for c in val.clip_ids])
    auc = {c: float(roc_auc_score(truth[..., i].ravel(), frames[..., i].ravel()))
           for i, c in enumerate(bench.classes)}
    per_class = {c: float(v or 0.0) for c, v in (result.validation.get("per_class_psds1") or {}).items()}
    return {"psds1": result.validation["psds1"], "psds2": result.validation["psds2"],
            "per_class": per_class, "auc": auc, "train_s": train_s,
            "params": count_params(result.partitions[0].deployed)}


def _task(args: tuple[str, str, tuple[str, ...], int]) -> tuple[str, dict]:
    name, profile, overrides, seed = args
    return name, run_variant(profile, overrides, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a profile override applied to every variant (repeatable)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")

    tasks = [(n, args.profile, (*args.set, *VARIANTS[n]), args.seed) for n in names]
    if args.jobs > 1:
        with mp.get_context("spawn").Pool(min(args.jobs, len(tasks))) as pool:
            results = dict(pool.map(_task, tasks))
    else:
        results = dict(map(_task, tasks))

    classes = list(next(iter(results.values()))["per_class"])
    short = [c.split("_")[0][:8] for c in classes]
    print(f"scratch on {args.profile} (seed {args.seed}), validation split, one process per variant\n")
    print("| variant | params | PSDS1 | PSDS2 | mean per-class PSDS1 | train s |")
    print("|---|---|---|---|---|---|")
    for name in names:
        r = results[name]
        print(f"| {name} | {r['params']:,} | {r['psds1']:.3f} | {r['psds2']:.3f} | "
              f"{np.mean(list(r['per_class'].values())):.3f} | {r['train_s']:.0f} |")
    for key, title in (("per_class", "per-class PSDS1"), ("auc", "per-class frame ROC AUC")):
        print(f"\n{title}\n")
        print("| variant | " + " | ".join(short) + " |")
        print("|---|" + "---|" * len(short))
        for name in names:
            print(f"| {name} | " + " | ".join(f"{results[name][key][c]:.2f}" for c in classes) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
