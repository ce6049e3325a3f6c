"""What a run will cost before it starts: disk and wall time, from measured per-step costs.

``sedbench run --dry-run`` prints ``estimate(...)``; every real run checks the disk first, so a
`full` run does not die after half an hour of data generation on a full disk. The estimate reads
the profile only (never generates data): clip counts come from the desed-synth preset or the
real dataset's TSVs, and the per-step costs are timed here on this machine, on a small batch of
random features through the real models (a few seconds), scaled to the profile's batch size.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sedbench.config import merge, student_model, teacher_model, teacher_recipe
from sedbench.errors import SedbenchError, ignore_sigint, spawn_without_sigint

SAFETY = 1.15  # margin on the disk estimate: TSVs, temporary files while a cache is published
EMBEDDING_DIM = 256  # upper bound of a teacher's cached frame embedding (transformer dim 192)


@dataclass
class Estimate:
    disk_bytes: dict[str, float] = field(default_factory=dict)  # what will be written, by part
    seconds: dict[str, float] = field(default_factory=dict)  # wall time, by stage
    free_bytes: float = 0.0
    where: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total_disk(self) -> float:
        return SAFETY * sum(self.disk_bytes.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def check_disk(self) -> None:
        """A one-line error when the disk is too small for what this run will write."""
        if self.total_disk > self.free_bytes:
            raise SedbenchError(
                f"not enough disk: this run writes about {gib(self.total_disk)} under {self.where} and only "
                f"{gib(self.free_bytes)} is free; free space there or point --cache/--results (and data.root) "
                "at a larger disk")


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def free_bytes(path: Path) -> float:
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    return float(shutil.disk_usage(path).free)


def clip_counts(config: dict[str, Any]) -> tuple[dict[str, int], Path | None, bool]:
    """(clips per split, dataset root, whether the audio is already on disk), without writing."""
    data = config.get("data", {})
    if data.get("source", "synth") == "desed":
        from sedbench.data.desed import load_dataset

        dataset = load_dataset(data["config"])
        return {name: len(split.filenames) for name, split in dataset.splits.items()}, None, True
    from sedbench.data.synth import PRESETS, default_root, read_manifest

    preset, seed = data.get("preset", "quick"), int(data.get("seed", 0))
    root = Path(data["root"]) if data.get("root") else default_root(preset, seed)
    return dict(PRESETS[preset]), root, read_manifest(root) is not None


def time_train_step(model_name: str, model_kwargs: dict[str, Any], n_mels: int, n_frames: int,
                    n_classes: int, batch_size: int, device: torch.device, probe_batches: tuple[int, int] = (4, 8),
                    repeats: int = 2) -> float:
    """Seconds per training step (student forward + backward + Adam + mean-student forward) at
    ``batch_size``: measured on two small random batches and extrapolated along the line through them.

    A step has a fixed part (Adam over every parameter, per-layer dispatch) and a per-clip part.
    Scaling one 2-clip probe linearly, as before, charged the fixed part 8 times at batch 16: on
    `quick` (1 thread) it predicted 2.0 s per step against 0.84 s measured at batch 16."""
    from sedbench.models import build_model

    torch.manual_seed(0)
    model = build_model(model_name, n_mels=n_mels, n_classes=n_classes, **model_kwargs).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def seconds(batch: int) -> float:
        x = torch.randn(batch, n_mels, n_frames, device=device)

        def step() -> None:
            out = model(x)
            loss = out.frame_logits.float().mean() + out.clip_logits.float().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                model(x)  # the mean student's forward
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        step()  # warm-up: allocator, kernels for this shape
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        return (time.perf_counter() - start) / repeats

    small, large = (min(b, batch_size) for b in probe_batches)
    t_small, t_large = seconds(small), seconds(large)
    if large == small:
        return t_large * batch_size / large
    per_clip = max((t_large - t_small) / (large - small), 0.0)
    return max(t_large + per_clip * (batch_size - large), t_large)


def _probe_beside_others(threads: int, barrier, results, args: tuple) -> None:
    # a terminal Ctrl-C is the parent's to handle, and the parent terminates its probes; ignored here,
    # it cannot dump a traceback from each of them
    ignore_sigint()
    torch.set_num_threads(threads)
    time_train_step(*args)  # warm-up (imports, allocator, kernels), untimed, before the others are ready
    barrier.wait(timeout=120)
    results.put(time_train_step(*args))
    while True:  # keep loading the CPU until the parent has every timing: none runs its probe alone
        time_train_step(*args)


def time_train_step_concurrently(jobs: int, threads: int, *args: Any) -> float | None:
    """Seconds per training step when ``jobs`` processes of ``threads`` threads train at once, as a
    ``--jobs`` matrix does on a CPU: they share its caches and memory bandwidth, so a step is slower
    than alone (on 2 cores, 2 one-thread processes: the matrix's runs took about 1.3x the estimate
    timed alone). Each spawned process warms up, waits for the others, times ``time_train_step``
    (``args``) and then keeps stepping until all have reported; the slowest timing is returned, since
    the matrix waits for its slowest worker. None when a probe process failed (the estimate then
    says it could not measure this)."""
    import multiprocessing as mp
    import queue

    context = mp.get_context("spawn")  # torch's thread pools do not survive a fork
    barrier, results = context.Barrier(jobs), context.Queue()
    workers = [context.Process(target=_probe_beside_others, args=(threads, barrier, results, args), daemon=True)
               for _ in range(jobs)]
    timings: list[float] = []
    deadline = time.monotonic() + 300
    try:
        with spawn_without_sigint():
            for worker in workers:
                worker.start()
        while len(timings) < jobs and time.monotonic() < deadline:
            try:
                timings.append(results.get(timeout=1.0))
            except queue.Empty:
                if any(w.exitcode is not None for w in workers):  # one died: the barrier never opens
                    return None
        return max(timings) if len(timings) == jobs else None
    finally:
        for worker in (w for w in workers if w.pid is not None):  # started
            worker.terminate()
            worker.join(timeout=10)


def time_clip_synthesis(n: int = 2) -> float:
    from sedbench.data.synth import render_clip

    render_clip(12345, "train_strong", n)  # warm-up: recipes, filters
    start = time.perf_counter()
    for i in range(n):
        render_clip(12345, "train_strong", i)
    return (time.perf_counter() - start) / n


def time_features(cfg, n: int = 4) -> float:
    from sedbench.data.features import logmel

    wave = torch.randn(int(cfg.sample_rate * cfg.clip_duration)) * 0.1
    logmel(wave, cfg)  # warm-up: the mel filter bank
    start = time.perf_counter()
    for _ in range(n):
        logmel(wave, cfg)
    return (time.perf_counter() - start) / n


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of tasks dealt longest first to whichever of ``workers`` frees up first, as the runner
    does: 3 equal runs on 2 workers take 2 runs' time, not 1.5 (the plain quotient was 25 % short)."""
    loads = [0.0] * max(1, workers)
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads)


def estimate(config: dict[str, Any], *, student_runs: list[tuple[str, float]], teachers: list[str],
             jobs: int, device: torch.device, cache_root: Path, results_root: Path,
             measure_time: bool = True) -> Estimate:
    """Disk and time for: the data (unless on disk), the features, the missing ``teachers`` and the
    pending ``student_runs`` ((method, relative step cost) per pair) with ``jobs`` processes.
    ``measure_time=False`` skips the timing (seconds of probing): the disk check before a real run."""
    from sedbench.data.classes import CLASSES
    from sedbench.data.features import FeatureConfig

    feat = FeatureConfig.from_dict(config["features"])
    counts, data_root, audio_exists = clip_counts(config)
    n_classes = len(CLASSES)
    n_clips = sum(counts.values())
    n_train = sum(v for k, v in counts.items() if k.startswith("train"))
    n_eval = counts.get("eval", 0)
    t_out = feat.n_frames // 4
    est = Estimate(where=", ".join(sorted({str(p) for p in (data_root or cache_root, cache_root, results_root)})))
    est.free_bytes = min(free_bytes(p) for p in (data_root or cache_root, cache_root, results_root))
    cores = os.cpu_count() or 1

    # disk: what this run writes
    if not audio_exists:
        est.disk_bytes["audio (WAV)"] = n_clips * (feat.sample_rate * feat.clip_duration * 2 + 44)
    est.disk_bytes["features"] = n_clips * feat.n_mels * feat.n_frames * 4
    per_clip = t_out * n_classes * 4 + t_out * 4 + t_out * EMBEDDING_DIM * 2  # logits, weights, embedding
    for name in teachers:
        est.disk_bytes[f"teacher {name}"] = n_train * per_clip
    if student_runs:
        est.disk_bytes["results"] = len(student_runs) * n_eval * t_out * (n_classes + 2) * 9
    if not measure_time:
        return est

    # time: each stage from its measured unit cost on this machine
    if not audio_exists:
        est.seconds["data generation"] = n_clips * time_clip_synthesis() / cores
    est.seconds["features"] = n_clips * time_features(feat)
    train = config["training"]
    batch = sum(int(v) for v in train["batch_size"].values())
    model, kwargs = student_model(config)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0  # before the probes add their own
    probe = (model, kwargs, feat.n_mels, feat.n_frames, n_classes, batch, device)
    student_step = time_train_step(*probe)
    contention = 1.0
    # processes that actually train at once (a run that deploys another's network trains nothing)
    parallel = min(jobs, len(teachers) + sum(1 for _, cost in student_runs if cost > 0))
    if device.type == "cpu" and parallel > 1:
        # measured, not assumed: the steps of parallel processes slow each other on a shared CPU
        together = time_train_step_concurrently(parallel, torch.get_num_threads(), *probe)
        if together is None:
            est.notes.append(f"could not time {parallel} processes training at once: each step will be "
                             "slower than this estimate assumes")
        else:
            contention = max(1.0, together / student_step)
    teacher_seconds = []
    for name in teachers:
        recipe = merge(train, teacher_recipe(config, name))
        batch_t = sum(int(v) for v in recipe["batch_size"].values())
        per_step = time_train_step(*teacher_model(config, name), feat.n_mels, feat.n_frames, n_classes, batch_t,
                                   device)
        teacher_seconds.append(per_step * contention * int(recipe["steps"]))
    steps = int(train["steps"])
    # validation and evaluation: a forward pass over the split, about a third of a training step per clip
    val_clips = counts.get("validation", 0) * max(1, steps // int(train.get("val_every", steps)))
    evaluation = (val_clips + n_eval) * student_step / batch / 3
    run_seconds = [student_step * contention * steps * cost + evaluation for _, cost in student_runs]
    workers = max(1, jobs)
    if teachers:
        est.seconds["teachers"] = makespan(teacher_seconds, workers)
    if student_runs:
        est.seconds["runs"] = makespan(run_seconds, workers)
    est.notes.append(f"measured on {device}: a student step {student_step * 1000:.0f} ms at batch {batch}")
    if contention > 1.0:
        est.notes.append(f"{parallel} processes training at once on {cores} cores: a step takes {contention:.2f}x "
                         "its time alone (measured with that many processes)")
    if device.type == "cpu" and load > 0.5 * cores:
        est.notes.append(f"the machine is busy (load {load:.1f} on {cores} cores): the step was timed beside "
                         "other work, so this estimate is too long")
    return est


def print_estimate(est: Estimate, console) -> None:
    from rich.table import Table

    table = Table(title="estimate for this machine", show_header=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("time", justify="right")
    table.add_column("disk", justify="right")
    for part in dict.fromkeys([*est.seconds, *est.disk_bytes]):
        seconds = est.seconds.get(part)
        table.add_row(part, duration(seconds) if seconds is not None else "",
                      gib(est.disk_bytes[part]) if part in est.disk_bytes else "")
    table.add_row("[bold]total[/]", f"[bold]{duration(est.total_seconds)}[/]",
                  f"[bold]{gib(est.total_disk)}[/] ({gib(est.free_bytes)} free)")
    console.print(table)
    for note in est.notes:
        console.print(f"  {note}", highlight=False)

