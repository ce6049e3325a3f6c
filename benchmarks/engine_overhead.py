"""Engine overhead: the engine's training step vs a minimal hand-written loop doing the same work.

Both run the same model, batch and cached features: student forward/backward, mean-student forward,
supervised BCE + consistency MSE, Adam, EMA update. The ratio (engine / minimal, median step time)
is the overhead of the engine's hooks, mixup, masks and bookkeeping; the target is <= 1.10.
It also times a KD step with cached teacher outputs against scratch: the target there is <= 1.2x,
since the cache removes the teacher forward pass (takd and dual are the exception by design: their
KD term needs a second student-size forward and backward through the mean student).

The machine's speed drifts by 10-20 % over tens of seconds, so the loops are timed in rounds,
round-robin (every loop gets a chunk of steps in every round), and each ratio compares medians
taken over the same stretch of time.

    python benchmarks/engine_overhead.py [--profile quick] [--steps 10] [--rounds 4]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from sedbench.benchmark import Benchmark
from sedbench.methods import Partition, SetupContext, build_method
from sedbench.runner import method_overrides
from sedbench.teachers import load_teacher
from sedbench.training.engine import TrainConfig, train_partition


def minimal_loop(bench: Benchmark, cfg: TrainConfig, steps: int) -> list[float]:
    """The same recipe written as plainly as possible: the reference for the engine's overhead."""
    torch.manual_seed(0)
    data = bench.training_data
    model = bench.build_student()
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(0)
    n_s, n_w, n_u = cfg.batch_size["strong"], cfg.batch_size["weak"], cfg.batch_size["unlabeled"]
    strong, weak, unl = data.rows("strong"), data.rows("weak"), data.rows("unlabeled")
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        idx = np.concatenate([rng.choice(strong, n_s), rng.choice(weak, n_w), rng.choice(unl, n_u)])
        batch = data.batch(idx)
        x = batch["features"]
        out = model(x)
        with torch.no_grad():
            ema_out = ema(x)
        loss = (F.binary_cross_entropy_with_logits(out.frame_logits[:n_s], batch["strong"][:n_s])
                + F.binary_cross_entropy_with_logits(out.clip_logits[n_s:n_s + n_w], batch["weak"][n_s:n_s + n_w])
                + F.mse_loss(torch.sigmoid(out.frame_logits), torch.sigmoid(ema_out.frame_logits))
                + F.mse_loss(torch.sigmoid(out.clip_logits), torch.sigmoid(ema_out.clip_logits)))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.mul_(cfg.ema_decay).add_(pm, alpha=1 - cfg.ema_decay)
        times.append(time.perf_counter() - start)
    return times


def engine_loop(bench: Benchmark, cfg: TrainConfig, method_name: str, steps: int) -> list[float]:
    method = build_method(method_name, method_overrides(bench, method_name))
    teachers = {t: load_teacher(bench, t) for t in method.teachers()}
    n_mels = bench.feature_cfg.n_mels
    example = bench.build_student().eval()
    with torch.no_grad():
        example_out = example(torch.zeros(2, n_mels, bench.feature_cfg.n_frames))
    setup = SetupContext(student=example, example_output=example_out, classes=bench.classes,
                         teachers={t: c.info for t, c in teachers.items()}, environments=bench.environments,
                         clip_environments=bench.clip_environments())
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(step: int, loss: float) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    cfg = copy.deepcopy(cfg)
    cfg.steps = steps
    last[0] = time.perf_counter()
    train_partition(
        build_student=bench.build_student,
        method=method, partition=Partition(), setup=setup, data=bench.training_data,
        validation=None, validate=None, teachers=teachers, cfg=cfg, seed=0, device=torch.device("cpu"),
        on_step=on_step)
    return times[1:]  # the first step pays for setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--steps", type=int, default=10, help="steps per loop per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--methods", default="vanilla,multi-teacher,temporal-attention,eefd,takd,dual",
                        help="KD methods to compare with scratch (their teachers must be trained)")
    args = parser.parse_args()
    bench = Benchmark.from_profile(args.profile)
    cfg = TrainConfig.from_dict(bench.config["training"])
    cfg.val_every = 10**9
    print(f"profile {bench.name}: {bench.student_model} {bench.student_kwargs}, batch {cfg.batch_size}, "
          f"{torch.get_num_threads()} threads, "
          f"{args.rounds} rounds x {args.steps} steps per loop")
    loops = {"minimal": lambda n: minimal_loop(bench, cfg, n + 1)[1:]}
    for name in ["scratch"] + [m for m in args.methods.split(",") if m]:
        loops[name] = lambda n, name=name: engine_loop(bench, cfg, name, n + 1)
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name, loop in list(loops.items()):
            try:
                times[name] += loop(args.steps)
            except Exception as exc:  # teachers not trained yet, for example
                print(f"{name:18s} skipped: {exc}")
                del loops[name], times[name]
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"{'minimal loop':18s} {median['minimal'] * 1000:8.1f} ms/step")
    print(f"{'engine (scratch)':18s} {median['scratch'] * 1000:8.1f} ms/step   "
          f"ratio engine/minimal = {median['scratch'] / median['minimal']:.3f}")
    for name in [n for n in median if n not in ("minimal", "scratch")]:
        print(f"{name:18s} {median[name] * 1000:8.1f} ms/step   ratio {name}/scratch = "
              f"{median[name] / median['scratch']:.3f}")


if __name__ == "__main__":
    main()
