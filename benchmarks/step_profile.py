"""Where a training step's time goes, against what this CPU can do.

For the student (and optionally a teacher) of a profile, on random features of the profile's shape:
- a torch.profiler breakdown of one engine step by phase (data gather, forwards, losses, backward,
  optimizer, EMA) averaged over ``--steps`` steps after a warm-up;
- the step's FLOPs (torch.utils.flop_counter, forward + backward) and the achieved GFLOP/s;
- the roofline of this machine: the GFLOP/s of a large fp32 matmul with the same thread count,
  and the ratio of the step to it.

    python benchmarks/step_profile.py --profile quick --threads 1
    python benchmarks/step_profile.py --profile quick --model transformer   # a teacher's step
    python benchmarks/step_profile.py --profile quick --compare   # today's step against issue 14's
    python benchmarks/step_profile.py --profile quick --compare --compile   # and torch.compile's
    python benchmarks/step_profile.py --profile quick --compare --candidate stem_stride=2,rnn_layers=1

``--compare`` times issue 14's step (the quick student of 2bc4b46: NCHW weights, dropout 0.2, no time
stride, two BiGRU layers) and today's (channels-last weights from ``sedbench.models.build_model``, the
profile's student options) in alternating rounds of one process, so machine noise hits both alike,
and prints their ratio.
``--compile`` adds today's step with the student and its mean student under ``torch.compile``
(inductor) and prints its start-up (the first step, compilation included): cold the first time on a
machine, warm once inductor's on-disk cache (``TORCHINDUCTOR_CACHE_DIR``) holds the kernels.
``--candidate`` adds today's step with the student's options changed (model options, as a profile's
``student:`` section takes them): a change that alters results, measured before a profile adopts it.

Time it with nothing else running: a figure taken beside a test run is not a figure.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch
import yaml
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.flop_counter import FlopCounterMode

from sedbench.config import load_profile, student_model, teacher_model
from sedbench.models import build_model
from sedbench.training import losses
from sedbench.training.ema import ema_factor, make_mean_student, update_mean_student
from sedbench.training.mixup import draw_mix

PHASES = ("gather", "mix", "student forward", "mean forward", "losses", "backward", "optimizer", "ema")


def matmul_roofline(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an n x n fp32 matmul: what the BLAS reaches on this CPU with ``threads``."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


# what issue 14 measured at 0.45 s/step on its machine: NCHW weights, the student's dropout 0.2, and
# quick's student of then (se-crnn's defaults: no time stride in the stem, two BiGRU layers)
BEFORE = {"layout": torch.contiguous_format, "dropout": 0.2}
ISSUE14_STUDENT = {"stem_stride": 1, "rnn_layers": 2}


def make_step(config: dict, model_name: str | None, layout: torch.memory_format | None = None,
              dropout: float | None = None, compile: bool = False, options: dict | None = None):
    feat, train = config["features"], config["training"]
    n_frames = int(feat["clip_duration"] * feat["sample_rate"] / feat["hop_length"]) + 1
    sizes = train["batch_size"]
    batch = sum(sizes.values())
    if model_name is None:
        model, kwargs = student_model(config)
    elif model_name in config["teachers"]:
        model, kwargs = teacher_model(config, model_name)
    else:
        model, kwargs = model_name, {}
    if dropout is not None:
        kwargs["dropout"] = dropout
    kwargs.update(options or {})
    net = build_model(model, n_mels=feat["n_mels"], n_classes=10, **kwargs).train()
    if layout is not None:
        net = net.to(memory_format=layout)
    mean = make_mean_student(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    run_net, run_mean = (torch.compile(net), torch.compile(mean)) if compile else (net, mean)
    rng = np.random.default_rng(0)
    pool = torch.randn(256, feat["n_mels"], n_frames)
    t_out = net(pool[:1]).frame_logits.shape[1]
    strong = torch.zeros(batch, dtype=torch.bool)
    strong[: sizes["strong"]] = True
    weak = torch.zeros(batch, dtype=torch.bool)
    weak[sizes["strong"]: sizes["strong"] + sizes["weak"]] = True
    labels = (torch.rand(batch, t_out, 10) > 0.9).float()

    def step(i: int) -> torch.Tensor:
        with record_function("gather"):
            x = pool[torch.from_numpy(rng.integers(0, len(pool), batch))]
        with record_function("mix"):
            mix = draw_mix([strong, weak], batch, rng, train["mixup_prob"], train["mixup_alpha"])
            x, y = mix.apply(x), mix.apply(labels)
        with record_function("student forward"):
            out = run_net(x)
        with record_function("mean forward"), torch.no_grad():
            mean_out = run_mean(x)
        with record_function("losses"):
            total = (losses.bce_with_logits(out.frame_logits[strong], y[strong])
                     + losses.bce_with_logits(out.clip_logits[weak], y[weak].amax(1))
                     + losses.consistency_mse(out.frame_logits, mean_out.frame_logits))
        with record_function("backward"):
            optimizer.zero_grad(set_to_none=True)
            total.backward()
        with record_function("optimizer"):
            optimizer.step()
        with record_function("ema"):
            update_mean_student(mean, net, ema_factor(i, train["ema_decay"]))
        return total

    return step, sum(p.numel() for p in net.parameters()), batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--model", default=None, help="a teacher of the profile (default: the student)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--compare", action="store_true", help="issue 14's step against today's, side by side")
    parser.add_argument("--rounds", type=int, default=3, help="with --compare: alternating rounds")
    parser.add_argument("--compile", action="store_true", help="with --compare: add today's step under torch.compile")
    parser.add_argument("--candidate", default=None, metavar="KEY=VALUE,...",
                        help="with --compare: add today's step with these model options, "
                             "e.g. stem_stride=2,rnn_layers=1")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    if args.candidate and not args.compare:
        parser.error("--candidate is timed beside today's step: add --compare")
    if args.candidate and any("=" not in kv for kv in args.candidate.split(",")):
        parser.error(f"--candidate {args.candidate}: give KEY=VALUE pairs separated by commas")
    config = load_profile(args.profile)
    if args.compare:
        compare(config, args)
        return
    step, params, batch = make_step(config, args.model)
    for i in range(3):  # warm-up: allocator, kernels
        step(i + 1)
    with FlopCounterMode(display=False) as counter:
        step(4)
    flops = counter.get_total_flops()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for i in range(args.steps):
            step(5 + i)
        wall = (time.perf_counter() - start) / args.steps
    phase_ms: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        if event.key in PHASES:
            phase_ms[event.key] += event.cpu_time_total / 1000 / args.steps
    peak = matmul_roofline(args.threads)
    achieved = flops / wall / 1e9
    print(f"profile {args.profile}, model {args.model or config['student']['model']} ({params:,} params), "
          f"batch {batch}, {args.threads} thread(s), torch {torch.__version__}, "
          f"CPU kernels {torch.backends.cpu.get_cpu_capability()}")
    print(f"{'phase':<16} {'ms/step':>9} {'share':>6}")
    for phase in PHASES:
        print(f"{phase:<16} {phase_ms[phase]:>9.1f} {100 * phase_ms[phase] / (1000 * wall):>5.0f}%")
    print(f"{'step (wall)':<16} {1000 * wall:>9.1f}")
    print(f"step FLOPs {flops / 1e9:.2f} G -> {achieved:.1f} GFLOP/s; fp32 matmul roofline {peak:.1f} GFLOP/s; "
          f"ratio {achieved / peak:.2f}")


def compare(config: dict, args: argparse.Namespace) -> None:
    """Median step time of both versions over alternating rounds, and today's over issue 14's."""
    before = make_step(config, args.model, **BEFORE, options=ISSUE14_STUDENT if args.model is None else None)[0]
    steps = {"issue 14 (NCHW)": before, "today": make_step(config, args.model)[0]}
    if args.compile:
        steps["torch.compile"] = make_step(config, args.model, compile=True)[0]
    candidate = None
    if args.candidate:
        options = {k.strip(): yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.candidate.split(","))}
        step, params, _ = make_step(config, args.model, options=options)
        candidate = f"candidate ({params // 1000}k params)"
        print(f"{candidate}: {', '.join(f'{k}={v}' for k, v in options.items())}")
        steps[candidate] = step
    times: dict[str, list[float]] = defaultdict(list)
    for name, step in steps.items():  # warm-up: allocator, kernels (and compilation)
        start = time.perf_counter()
        step(1)
        if name == "torch.compile":
            print(f"torch.compile start-up (first step, compilation included): {time.perf_counter() - start:.1f} s")
        for i in range(2):
            step(i + 2)
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for i in range(args.steps):
                step(4 + i)
            times[name].append((time.perf_counter() - start) / args.steps)
    peak = matmul_roofline(args.threads)
    print(f"profile {args.profile}, {args.threads} thread(s), torch {torch.__version__}, "
          f"CPU kernels {torch.backends.cpu.get_cpu_capability()}; fp32 matmul roofline {peak:.1f} GFLOP/s")
    for name, ts in times.items():
        with FlopCounterMode(display=False) as counter:  # a candidate does less work than today's step
            steps[name if name != "torch.compile" else "today"](99)
        flops = counter.get_total_flops()
        wall = float(np.median(ts))
        print(f"{name:<24} {1000 * wall:7.1f} ms/step  {flops / wall / 1e9:5.1f} GFLOP/s  "
              f"roofline ratio {flops / wall / 1e9 / peak:.2f}")
    before, today = (float(np.median(times[name])) for name in ("issue 14 (NCHW)", "today"))
    print(f"speed-up today / issue 14: {before / today:.2f}x")
    if args.compile:
        compiled = float(np.median(times["torch.compile"]))
        print(f"speed-up torch.compile / today: {today / compiled:.2f}x; / issue 14: {before / compiled:.2f}x")
    if candidate:
        changed = float(np.median(times[candidate]))
        print(f"speed-up candidate / today: {today / changed:.2f}x; / issue 14: {before / changed:.2f}x")


if __name__ == "__main__":
    main()
