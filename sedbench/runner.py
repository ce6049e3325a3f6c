"""Running the benchmark: one (method, seed) run end to end, and the run matrix with its executors.

``run_one`` is the single run function every executor calls: train each of the method's partitions
with the engine, select checkpoints on validation, evaluate on eval, measure the deployed model,
and write the run record atomically (status ``running`` while it works, ``complete`` or ``failed``
at the end; an interrupted run is never left marked complete).
"""

from __future__ import annotations

import io
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sedbench import results
from sedbench.benchmark import Benchmark
from sedbench.config import config_hash, merge
from sedbench.errors import SedbenchError, TrainingError
from sedbench.methods import Method, SetupContext, build_method, params_dict
from sedbench.models import build_model
from sedbench.training.engine import (
    TrainConfig,
    TrainedPartition,
    environment_rows,
    predict,
    train_partition,
)


@dataclass
class TrainResult:
    method: Method
    partitions: list[TrainedPartition]
    validation: dict[str, Any]  # full metrics of the routed deployed model(s) on validation
    train_s: float


def method_overrides(bench: Benchmark, name: str) -> dict[str, Any]:
    return dict((bench.config.get("methods") or {}).get(name) or {})


def routed_predict(partitions: list[TrainedPartition], data, device: torch.device,
                   batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Predict every clip with the student of its partition (environment-aware routing)."""
    if len(partitions) == 1 and partitions[0].partition.environment is None:
        return predict(partitions[0].deployed.to(device), data, device, batch_size)
    n = len(data.clip_ids)
    frames = clips = None
    covered = np.zeros(n, dtype=bool)
    for part in partitions:
        env = part.partition.environment
        rows = environment_rows(data, env) if env else np.arange(n)
        if len(rows) == 0:
            continue
        f, c = predict(part.deployed.to(device), data, device, batch_size, rows=rows)
        if frames is None:
            frames = np.zeros((n, *f.shape[1:]), np.float32)
            clips = np.zeros((n, c.shape[1]), np.float32)
        frames[rows], clips[rows] = f, c
        covered[rows] = True
        part.deployed.cpu()
    if not covered.all():
        missing = sorted({str(data.environments.get(data.clip_ids[i])) for i in np.flatnonzero(~covered)})
        raise SedbenchError(f"no student was trained for environment(s) {missing} of the evaluated clips")
    return frames, clips


def score_split(bench: Benchmark, data, frame_probs: np.ndarray, clip_probs: np.ndarray,
                rows: np.ndarray | None = None, which: tuple[str, ...] | None = None
                ) -> tuple[dict[str, Any], dict]:
    """Metrics of predictions on a split (or on ``rows`` of it); returns (metrics, scores)."""
    from sedbench.evaluation import compute_metrics, scores_from_probs

    clip_ids = list(data.clip_ids) if rows is None else [data.clip_ids[i] for i in rows]
    scores = scores_from_probs(frame_probs, clip_ids, list(bench.classes), bench.encoder.frame_hop_s)
    ground_truth = {c: data.ground_truth.get(c, []) for c in clip_ids}
    durations = {c: data.durations[c] for c in clip_ids}
    metrics = compute_metrics(scores, clip_probs, clip_ids, ground_truth, durations, list(bench.classes),
                              which=which)
    return metrics, scores


def train_and_select(bench: Benchmark, method: str | Method, seed: int, *, model_name: str | None = None,
                     model_kwargs: dict[str, Any] | None = None,
                     training_overrides: dict[str, Any] | None = None, augment=None, progress=None,
                     label: str | None = None, plugins: tuple[str, ...] = ()) -> TrainResult:
    """Train a method's student(s) under the benchmark's recipe; checkpoints chosen on validation."""
    from sedbench.complexity import check_budget
    from sedbench.teachers import load_teacher

    if isinstance(method, str):
        method = build_method(method, method_overrides(bench, method), plugins)
    cfg = TrainConfig.from_dict(merge(bench.config["training"], training_overrides or {}))
    is_student = model_name is None
    name = model_name or bench.student_model
    kwargs = bench.student_kwargs if is_student else dict(model_kwargs or {})
    n_mels, n_classes = bench.feature_cfg.n_mels, len(bench.classes)

    def build_student() -> nn.Module:
        return build_model(name, n_mels=n_mels, n_classes=n_classes, **kwargs)

    if is_student:  # the student budget is a benchmark rule: enforce it before any training
        student = bench.config["student"]
        check_budget(build_student(), max_params=student.get("max_params"), max_macs=student.get("max_macs"),
                     n_frames=bench.feature_cfg.n_frames, name=name)
    teachers = {t: load_teacher(bench, t, bench.device) for t in method.teachers()}
    data, validation = bench.training_data, bench.validation

    def validate(model: nn.Module, rows: np.ndarray | None) -> tuple[float, float]:
        """(PSDS1, mean per-class PSDS1): early in training PSDS1 is often exactly 0 (its alpha_st = 1
        subtracts the spread across classes), and the per-class mean still ranks checkpoints."""
        frames, clips = predict(model, validation, bench.device, cfg.eval_batch_size, rows=rows)
        metrics, _ = score_split(bench, validation, frames, clips, rows=rows, which=("psds1",))
        per_class = [v for v in (metrics.get("per_class_psds1") or {}).values() if v is not None]
        return float(metrics["psds1"] or 0.0), float(np.mean(per_class)) if per_class else 0.0

    partitions = method.partitions(bench.classes, bench.environments, bench.clip_environments())
    if sum(p.share for p in partitions) > 1.0 + 1e-6:
        raise TrainingError(f"method {method.name}: its partitions' schedule shares add up to more than 1; "
                            "a method may not train for longer than the benchmark's schedule")
    example = build_student().eval()
    with torch.no_grad():
        example_out = example(torch.zeros(2, n_mels, bench.feature_cfg.n_frames))
    trained: list[TrainedPartition] = []
    start = time.perf_counter()
    for i, partition in enumerate(partitions):
        what = label or f"{method.name} seed {seed}"
        if len(partitions) > 1:
            what += f" [{partition.name}]"
        task = progress.add_task(what, total=cfg.scaled(partition.share).steps) if progress is not None else None
        setup = SetupContext(
            student=example, example_output=example_out, classes=bench.classes,
            teachers={t: c.info for t, c in teachers.items()}, environments=bench.environments,
            clip_environments=bench.clip_environments(), partition=partition,
        )
        trained.append(train_partition(
            build_student=build_student, method=method, partition=partition, setup=setup, data=data,
            validation=validation, validate=validate, teachers=teachers, cfg=cfg,
            seed=seed * 1000 + i, device=bench.device, augment=augment,
            on_step=(lambda step, loss, task=task, what=what: progress.update(
                task, completed=step, description=f"{what} loss {loss:.3f}"))
            if progress is not None else None,
        ))
        if progress is not None:
            progress.remove_task(task)
    train_s = time.perf_counter() - start
    frames, clips = routed_predict(trained, validation, bench.device, cfg.eval_batch_size)
    val_metrics, _ = score_split(bench, validation, frames, clips)
    return TrainResult(method, trained, val_metrics, train_s)


def deployed_complexity(bench: Benchmark, net: nn.Module, measure) -> dict[str, Any]:
    """Params, MACs and latency of the deployed student, measured once per student configuration.

    Every method deploys the same architecture (the engine enforces it), so measuring it again for
    each method and seed would only add noise and minutes; the figures are cached beside the
    features, keyed by the student, the front end, the device and the measurement settings.
    """
    import json

    from sedbench.io import atomic_write_json

    settings = bench.config.get("complexity", {})
    key = config_hash({"student": bench.config["student"], "features": bench.config["features"],
                       "device": str(bench.device), "settings": settings, "torch": torch.__version__})
    path = bench.cache_root / "complexity" / f"{bench.student_model}-{key}.json"
    if path.is_file():
        return {**json.loads(path.read_text()), "measured_in_run": False}
    figures = measure(net, bench.feature_cfg, **settings)
    atomic_write_json(path, figures)
    return {**figures, "measured_in_run": True}


def run_config(bench: Benchmark, method: Method) -> dict[str, Any]:
    return {**bench.config, "method": {"name": method.name, "params": params_dict(method),
                                       "source_hash": getattr(method, "source_hash", "")}}


@dataclass
class RunIdentity:
    """Where a (method, seed) run lives and what it is keyed by.

    ``variant``: everything that determines the run except its seed (the whole config, the method's
    hyperparameters and source hash, the data, how training executes); ``run_hash`` adds the seed.
    Records of different settings therefore live side by side (``<results>/<benchmark>/<benchmark
    hash>/<method>/<variant>/seed-<n>``) and a changed setting never replaces an older record.
    """

    config: dict[str, Any]
    variant: str
    run_hash: str
    directory: Path

    @property
    def lock(self) -> Path:
        return self.directory.parent / f".{self.directory.name}.lock"


def run_identity(bench: Benchmark, method: Method, seed: int) -> RunIdentity:
    config = run_config(bench, method)
    variant = config_hash({"config": config, "data": bench.data_fingerprint, "execution": bench.execution})
    run_hash = config_hash({"variant": variant, "seed": int(seed)})
    directory = results.run_dir(bench.results_root, bench.name, method.name, seed,
                                settings=bench.benchmark_hash, variant=variant[:10])
    return RunIdentity(config, variant, run_hash, directory)


def run_dir_for(bench: Benchmark, method_name: str, seed: int, plugins: tuple[str, ...] = ()) -> Path:
    """The folder of a (method, seed) run under this benchmark's settings (it may not exist yet)."""
    method = build_method(method_name, method_overrides(bench, method_name), plugins)
    return run_identity(bench, method, seed).directory


def run_one(bench: Benchmark, method_name: str, seed: int, *, force: bool = False, progress=None,
            plugins: tuple[str, ...] = (), wait: bool = True) -> dict[str, Any]:
    """Train, evaluate and measure one (method, seed); returns its run record (also on failure).

    The run holds a lock on its folder while it works: another process that reaches the same run
    waits for it (``wait``) and then finds it complete, or, with ``wait=False``, gets a record with
    status ``busy`` at once (the matrix comes back to it later). ``run_dir`` in the returned record
    is the run's folder.
    """
    from sedbench.locks import Busy, claim

    method = build_method(method_name, method_overrides(bench, method_name), plugins)
    identity = run_identity(bench, method, seed)

    def waiting() -> None:
        if progress is not None:
            progress.console.print(f"{method_name} seed {seed}: another process is running it; waiting for it")

    try:
        with claim(identity.lock, wait=wait, on_wait=waiting), bench.torch_threads():
            record = _run_claimed(bench, method, seed, identity, force, progress, plugins)
    except Busy:
        record = {"method": method_name, "seed": seed, "status": "busy", "error": None,
                  "config_hash": identity.run_hash}
    record["run_dir"] = str(identity.directory)
    return record


def _run_claimed(bench: Benchmark, method: Method, seed: int, identity: RunIdentity, force: bool, progress,
                 plugins: tuple[str, ...]) -> dict[str, Any]:
    from sedbench.complexity import measure
    from sedbench.evaluation import write_scores
    from sedbench.io import atomic_path

    method_name = method.name
    config, run_hash, out = identity.config, identity.run_hash, identity.directory
    previous = results.read_record(out) if (out / "run.json").is_file() else None
    if previous and previous.get("status") == "complete" and previous.get("config_hash") == run_hash and not force:
        previous["skipped"] = True
        return previous

    record: dict[str, Any] = {
        "schema_version": 1, "benchmark": bench.name, "benchmark_hash": bench.benchmark_hash,
        "config_hash": run_hash, "variant_hash": identity.variant, "method": method_name, "seed": seed,
        "config": config, "method_source_hash": getattr(method, "source_hash", ""), "threads": bench.threads,
        "execution": bench.execution, "status": "running", "error": None, "started": results.now_iso(),
        "environment": results.environment_info(),
    }
    results.write_record(out, record)
    try:
        result = train_and_select(bench, method, seed, progress=progress, plugins=plugins)
        start = time.perf_counter()
        frames, clips = routed_predict(result.partitions, bench.evaluation, bench.device)
        metrics, scores = score_split(bench, bench.evaluation, frames, clips)
        write_scores(out / "scores", scores, ground_truth=bench.evaluation.ground_truth,
                     durations=bench.evaluation.durations, clip_probs=clips)
        eval_s = time.perf_counter() - start
        deployed = result.partitions[0].deployed
        start = time.perf_counter()
        complexity = deployed_complexity(bench, deployed.net, measure)
        complexity_s = time.perf_counter() - start
        complexity["params_training_only"] = sum(p.training_only_params for p in result.partitions)
        # training keeps a second copy of the network (the mean student, or the student when the
        # mean student is deployed); it is never deployed in addition
        complexity["params_ema_copy"] = complexity["params"]
        complexity["n_deployed_models"] = len(result.partitions)
        complexity["params_all_models"] = sum(
            sum(p.numel() for p in part.deployed.parameters()) for part in result.partitions)
        buffer = io.BytesIO()  # not the temporary file: torch.save would embed its random name
        torch.save({"model": bench.student_model, "kwargs": bench.student_kwargs,
                    "partitions": [{"name": p.partition.name, "environment": p.partition.environment,
                                    "classes": p.partition.classes, "state_dict": p.deployed.net.state_dict()}
                                   for p in result.partitions]}, buffer)
        with atomic_path(out / "model.pt") as tmp:
            tmp.write_bytes(buffer.getvalue())
        record.update(
            status="complete", metrics=metrics, validation={
                **result.validation, "best_steps": [p.best_step for p in result.partitions],
                "history": [p.history for p in result.partitions]},
            complexity=complexity,
            timings={"train_s": result.train_s, "eval_s": eval_s, "complexity_s": complexity_s,
                     "energy_kwh": None},
        )
    except KeyboardInterrupt:
        record.update(status="interrupted", error="interrupted by the user")
        raise
    except SedbenchError as exc:
        record.update(status="failed", error=str(exc))
    except Exception as exc:  # a crash in one run must not stop the matrix; keep the reason
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=8))
    finally:
        record["finished"] = results.now_iso()
        record.setdefault("timings", {})
        results.write_record(out, record)
    return record


# ----------------------------------------------------------------------------------- the matrix
def resolve_methods(spec: str, plugins: tuple[str, ...] = ()) -> list[str]:
    """``all``, a comma list, or globs (``*kd``) against the registry, in registry order."""
    import fnmatch

    from sedbench.methods import get_method, method_names

    names = method_names(plugins)
    if spec.strip() == "all":
        return _reference_first(names)
    chosen: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if any(ch in part for ch in "*?["):
            hits = fnmatch.filter(names, part)
            if not hits:
                raise SedbenchError(f"--methods {part}: no method matches; see `sedbench methods`")
            chosen += [h for h in hits if h not in chosen]
        else:
            get_method(part, plugins)  # raises with close matches when unknown
            if part not in chosen:
                chosen.append(part)
    return chosen


def _reference_first(names: list[str]) -> list[str]:
    order = ["scratch", "vanilla", "multi-teacher", "temporal-attention", "environment-aware", "takd",
             "eefd", "dual"]
    return [n for n in order if n in names] + sorted(n for n in names if n not in order)


def resolve_seeds(seeds: str | None, bench: Benchmark) -> list[int]:
    """``3`` -> 0, 1, 2; ``0,4,7`` -> those seeds; None -> the profile's seeds. A seed given twice is
    run once (``1,1`` -> 1)."""
    if seeds is None:
        return list(dict.fromkeys(int(s) for s in bench.config.get("seeds", [0])))
    try:
        chosen = [int(s) for s in seeds.split(",") if s.strip()] if "," in seeds else list(range(int(seeds)))
    except ValueError:
        chosen = []
    if not chosen or min(chosen) < 0:
        raise SedbenchError(f"--seeds {seeds}: give a count >= 1 (3) or a comma list of seeds >= 0 (0,1,2)")
    return list(dict.fromkeys(chosen))


def check_method_settings(bench: Benchmark, plugins: tuple[str, ...] = ()) -> None:
    """The profile's ``methods:`` section against the registry and each method's Params (keys and
    types): one line naming the key, before any work."""
    from sedbench.config import check_dataclass
    from sedbench.errors import ConfigError
    from sedbench.methods import discover

    registry = discover(plugins)
    for name, values in (bench.config.get("methods") or {}).items():
        if name not in registry:
            raise ConfigError(f"methods.{name}: no such method; known: {', '.join(sorted(registry))}")
        check_dataclass(registry[name].Params, values or {}, f"methods.{name}")
        build_method(name, method_overrides(bench, name), plugins)  # forbidden and unknown names


def teachers_needed(methods: list[str], bench: Benchmark, plugins: tuple[str, ...] = ()) -> list[str]:
    needed: list[str] = []
    for name in methods:
        method = build_method(name, method_overrides(bench, name), plugins)
        for t in method.teachers():
            for part in t.split("+"):
                if part not in needed:
                    needed.append(part)
    return needed


def pair_status(bench: Benchmark, method: str, seed: int, plugins: tuple[str, ...] = ()) -> str:
    """``cached`` when a complete record with this exact identity exists, ``running`` while another
    process holds the run, else ``pending``. Reads only."""
    from sedbench.locks import is_claimed

    m = build_method(method, method_overrides(bench, method), plugins)
    identity = run_identity(bench, m, seed)
    out = identity.directory
    if (out / "run.json").is_file():
        record = results.read_record(out)
        if record.get("status") == "complete" and record.get("config_hash") == identity.run_hash:
            return "cached"
    return "running" if is_claimed(identity.lock) else "pending"


SUMMARY_KEYS = ("method", "seed", "status", "error", "skipped", "run_dir")


def run_task(config: dict[str, Any], method: str, seed: int, results_root: str, cache_root: str,
             force: bool, plugins: tuple[str, ...], threads: int | None = None,
             device: str | None = None, override_methods: bool = False) -> dict[str, Any]:
    """The one run function of every executor (local processes, Ray): self-contained arguments."""
    from sedbench.methods import allow_override

    allow_override(override_methods)
    bench = Benchmark(config, results_root=results_root, cache_root=cache_root, device=device, progress=False,
                      threads=threads)
    record = run_one(bench, method, seed, force=force, plugins=plugins)
    return {k: record.get(k) for k in SUMMARY_KEYS}


def run_matrix(bench: Benchmark, methods: list[str], seeds: list[int], *, jobs: int = 1,
               executor: str = "local", address: str | None = None, force: bool = False,
               plugins: tuple[str, ...] = (), console=None) -> list[dict[str, Any]]:
    """Data -> features -> teachers -> every (method, seed); returns one summary per pair.

    Wall time per stage goes to ``results/<benchmark>/timings.json`` (benchmarks/stages.py prints it).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sedbench.io import atomic_write_json
    from sedbench.teachers import teacher_dir, train_teacher

    stages: list[dict[str, Any]] = []

    def stage(name: str, start: float) -> None:
        stages.append({"stage": name, "seconds": round(time.perf_counter() - start, 2)})

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bench.progress = progress
        t = time.perf_counter()
        bench.dataset  # noqa: B018 - generates desed-synth on first use
        stage("data", t)
        t = time.perf_counter()
        for split in ("train_strong", "train_weak", "train_unlabeled", "validation", "eval"):
            if split in bench.dataset.splits:
                bench.feature_cache.get(split)
        stage("features", t)
        t = time.perf_counter()
        missing = [n for n in teachers_needed(methods, bench, plugins)
                   if not (teacher_dir(bench, n) / "info.json").is_file()]  # --force re-runs pairs only
        bench.teacher_outcomes = {}
        pairs = [(m, s) for m in methods for s in seeds]
        if executor == "local" and jobs > 1:
            # one pool for teachers and runs: a run starts as soon as its own teachers are cached
            device = str(bench.device)
            tasks = [ProcessTask(f"teacher {n}", teacher_task, dict(name=n, config=bench.config, device=device,
                                 cache_root=str(bench.cache_root)), priority=1) for n in missing]
            built = {m: build_method(m, method_overrides(bench, m), plugins) for m in methods}
            for m, s in pairs:
                needs = tuple(f"teacher {part}" for teacher in built[m].teachers() for part in teacher.split("+")
                              if part in missing)
                tasks.append(ProcessTask(f"{m} seed {s}", run_task, dict(method=m, seed=s, device=device, **_task_args(
                    bench, force, plugins)), needs=needs, cost=built[m].relative_cost))
            summaries = []
            for r in _in_processes(tasks, jobs, progress, "benchmark", threads=bench.threads):
                if r["method"].startswith("teacher "):
                    bench.teacher_outcomes[r["method"][8:]] = _teacher_outcome(r)
                else:
                    summaries.append(r)
            stages.extend(_teacher_stages(bench, missing))
            stage("teachers and runs (wall)", t)
        else:
            for name in missing:
                cache = train_teacher(bench, name, progress=progress)
                bench.teacher_outcomes[name] = "trained" if cache.trained_here else "reused"
            stages.extend(_teacher_stages(bench, missing))
            stage("teachers (wall)", t)
            t = time.perf_counter()
            overall = progress.add_task("benchmark", total=len(pairs))
            if executor == "ray":
                summaries = _run_ray(bench, pairs, address, force, plugins, progress, overall)
            else:
                summaries, busy = [], []
                for method, seed in pairs:  # a pair another process is running is left for the end
                    record = run_one(bench, method, seed, force=force, progress=progress, plugins=plugins,
                                     wait=False)
                    if record["status"] == "busy":
                        busy.append((method, seed))
                        continue
                    summaries.append({k: record.get(k) for k in SUMMARY_KEYS})
                    progress.advance(overall)
                for method, seed in busy:  # then wait for it: it is complete (skipped) or ours to redo
                    record = run_one(bench, method, seed, force=False, progress=progress, plugins=plugins)
                    summaries.append({**{k: record.get(k) for k in SUMMARY_KEYS}, "waited": True})
                    progress.advance(overall)
            stage("runs (wall)", t)
    for summary in summaries:
        out = Path(summary["run_dir"]) if summary.get("run_dir") else None
        if out is not None and (out / "run.json").is_file():
            timings = results.read_record(out).get("timings", {})
            for part in ("train_s", "eval_s", "complexity_s"):
                if timings.get(part) is not None:
                    stages.append({"stage": f"{summary['method']} seed {summary['seed']} {part[:-2]}",
                                   "seconds": round(timings[part], 2)})
    atomic_write_json(bench.results_root / bench.name / "timings.json",
                      {"jobs": jobs, "executor": executor, "device": str(bench.device), "threads": bench.threads,
                       "stages": stages})
    return summaries


def _teacher_outcome(summary: dict[str, Any]) -> str:
    if summary.get("status") != "complete":
        return "failed"
    return "trained" if summary.get("trained") else "reused"


def _teacher_stages(bench: Benchmark, names: list[str]) -> list[dict[str, Any]]:
    from sedbench.teachers import read_teacher_info, teacher_dir

    infos = {n: read_teacher_info(teacher_dir(bench, n)) for n in names}
    return [{"stage": f"teacher {n}", "seconds": round(info.get("train_s", 0.0), 2)}
            for n, info in infos.items() if info is not None]  # a failed teacher has none


def teacher_task(name: str, config: dict[str, Any], cache_root: str, threads: int | None = None,
                 device: str | None = None) -> dict[str, Any]:
    """Train one teacher in a worker process (the teachers of a profile are independent)."""
    from sedbench.teachers import train_teacher

    bench = Benchmark(config, cache_root=cache_root, device=device, progress=False, threads=threads)
    cache = train_teacher(bench, name)
    return {"method": f"teacher {name}", "seed": None, "status": "complete", "error": None,
            "trained": cache.trained_here}


def _task_args(bench: Benchmark, force: bool, plugins: tuple[str, ...]) -> dict[str, Any]:
    from sedbench import methods

    return dict(config=bench.config, results_root=str(bench.results_root), cache_root=str(bench.cache_root),
                force=force, plugins=tuple(str(p) for p in plugins), override_methods=methods._override)


@dataclass
class ProcessTask:
    """``fn(**kwargs)`` in a worker process, once the tasks named in ``needs`` have completed."""

    key: str
    fn: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any]
    needs: tuple[str, ...] = ()
    cost: float = 1.0
    priority: int = 0  # higher first (teachers), then the most expensive first


def _in_processes(tasks: list[ProcessTask], jobs: int, progress, label: str,
                  threads: int | None = None) -> list[dict[str, Any]]:
    """Run the tasks in ``jobs`` spawned processes, ``threads`` torch threads each (default: one
    share of the CPUs), dependencies first.

    Ready tasks start in order of (priority, cost), the longest first: with few workers the order
    decides how long the last one runs alone. A task whose dependency failed fails without running.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from sedbench.benchmark import default_threads

    threads = threads or default_threads(jobs)
    overall = progress.add_task(f"{label} ({jobs} processes)", total=len(tasks))
    pending = sorted(tasks, key=lambda t: (-t.priority, -t.cost))
    completed: set[str] = set()
    failed: dict[str, str] = {}
    summaries: list[dict[str, Any]] = []

    def failure(task: ProcessTask, error: str) -> dict[str, Any]:
        failed[task.key] = error
        return {"method": task.kwargs.get("method", task.key), "seed": task.kwargs.get("seed"),
                "status": "failed", "error": error}

    # spawn, not fork: torch's thread pools do not survive a fork
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        running: dict[Any, ProcessTask] = {}
        while pending or running:
            for task in list(pending):
                blocked = [n for n in task.needs if n in failed]
                if blocked:
                    pending.remove(task)
                    summaries.append(failure(task, f"{blocked[0]} failed: {failed[blocked[0]]}"))
                    progress.advance(overall)
                elif len(running) < jobs and all(n in completed for n in task.needs):
                    pending.remove(task)
                    running[pool.submit(task.fn, threads=threads, **task.kwargs)] = task
            if not running:  # what is left waits for tasks that were never scheduled
                for task in pending:
                    summaries.append(failure(task, f"waits for {', '.join(task.needs)}, which is not scheduled"))
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    summary = future.result()
                except Exception as exc:  # a worker that died still counts as a failed run
                    summary = failure(task, f"{type(exc).__name__}: {exc}")
                if summary.get("status") == "failed":
                    failed.setdefault(task.key, summary.get("error") or "failed")
                else:
                    completed.add(task.key)
                summaries.append(summary)
                progress.advance(overall)
    return summaries


def _run_ray(bench, pairs, address, force, plugins, progress, overall) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise SedbenchError("--executor ray needs Ray: pip install 'sedbench[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    gpus = 1 if torch.cuda.is_available() else 0
    # as many CPUs as torch threads: the thread count is part of a run's identity (and its teachers' keys)
    remote = ray.remote(num_gpus=gpus, num_cpus=bench.threads)(run_task)
    args = _task_args(bench, force, plugins)
    refs = {remote.remote(method=m, seed=s, threads=bench.threads, device=None, **args): (m, s) for m, s in pairs}
    summaries, pending = [], list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        method, seed = refs[done[0]]
        try:
            summaries.append(ray.get(done[0]))
        except Exception as exc:
            summaries.append({"method": method, "seed": seed, "status": "failed", "error": str(exc)})
        progress.advance(overall)
    return summaries
