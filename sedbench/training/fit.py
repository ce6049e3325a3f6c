"""Fitting networks under the benchmark's recipe: a method's student(s), and the teachers of the zoo.

``train_and_select`` trains every partition of a method with the engine, selects checkpoints on
validation and routes the deployed students; ``train_teacher`` trains a teacher with the same recipe
and writes its outputs into the teacher cache (``sedbench.teachers``). The runner orchestrates these;
the teacher zoo only stores and serves what this module wrote, so the layers stay one-way:
teachers (cache) <- methods <- training (this module) <- runner.

Validation scores come from the ``Benchmark`` (``bench.score_split``): the selection metric is a
benchmark rule shared by every method and teacher, not something this module defines.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sedbench.config import merge, teacher_freq_mixstyle, teacher_model, teacher_recipe
from sedbench.energy import track_energy, with_stopped_share
from sedbench.errors import SedbenchError, TrainingError, one_line
from sedbench.io import atomic_write_text
from sedbench.methods import Method, SetupContext, build_method, method_settings
from sedbench.models import build_model
from sedbench.stack import cpu_label
from sedbench.teachers import (
    TeacherCache,
    TeacherInfo,
    attention_rollout,
    load_teacher,
    resample_frames,
    teacher_checkpoints,
    teacher_dir,
    teacher_lock,
    teacher_seed,
)
from sedbench.training.augment import freq_mixstyle
from sedbench.training.checkpoint import Checkpoint
from sedbench.training.engine import (
    DeployedModel,
    TrainConfig,
    TrainedPartition,
    class_mask_for,
    hook_errors,
    predict,
    predict_routed,
    train_partition,
)

if TYPE_CHECKING:
    from sedbench.benchmark import Benchmark


@dataclass
class TrainResult:
    method: Method
    partitions: list[TrainedPartition]  # one trained student per partition
    validation: dict[str, Any]  # full metrics of the routed deployed model(s) on validation
    train_s: float
    # how the students are deployed at evaluation (Method.routes): the partitions themselves unless
    # the method routes a student to several environments behind a class mask (environment-mask)
    routes: list[TrainedPartition] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.routes:
            self.routes = list(self.partitions)

    @property
    def deployed_models(self) -> list[nn.Module]:
        """The distinct networks the method deploys (a network behind several routes counts once)."""
        seen: dict[int, nn.Module] = {}
        for part in self.routes:
            seen.setdefault(id(part.deployed.net), part.deployed.net)
        return list(seen.values())


def routed_predict(partitions: list[TrainedPartition], data, device: torch.device,
                   batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Predict every clip with the student of its route (environment-aware routing)."""
    return predict_routed([(p.partition.environment, p.deployed) for p in partitions], data, device, batch_size)


def deployment_routes(method: Method, trained: list[TrainedPartition], classes: tuple[str, ...],
                      environments: dict[str, tuple[str, ...]]) -> list[TrainedPartition]:
    """Each trained student behind the routes its method deploys it with (``Method.routes``)."""
    routed: list[TrainedPartition] = []
    for part in trained:
        with hook_errors(method.name, "routes"):
            routes = method.routes(part.partition, environments)
        for route in routes:
            if route is part.partition:
                routed.append(part)
                continue
            mask = class_mask_for(classes, route.classes)
            if part.deployed.class_mask is not None:  # a route can only narrow what was trained
                mask = part.deployed.class_mask.cpu() if mask is None else mask & part.deployed.class_mask.cpu()
            routed.append(dataclasses.replace(part, partition=route,
                                              deployed=DeployedModel(part.deployed.net, mask).eval()))
    return routed


def schedule(bench: Benchmark, training_overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The benchmark's recipe (with a teacher's overrides) in steps: an epoch-counted schedule becomes
    DESED_task's epochs of this training data."""
    cfg = TrainConfig.from_dict(merge(bench.config["training"], training_overrides or {}))
    if cfg.counted_in_epochs:
        cfg = cfg.in_steps(bench.training_data.epoch_length(cfg.batch_size))
    return cfg


def train_and_select(bench: Benchmark, method: str | Method, seed: int, *, model_name: str | None = None,
                     model_kwargs: dict[str, Any] | None = None,
                     training_overrides: dict[str, Any] | None = None, augment=None, progress=None,
                     label: str | None = None, plugins: tuple[str, ...] = (),
                     checkpoints: tuple[Path, str] | None = None) -> TrainResult:
    """Train a method's student(s) under the benchmark's recipe; checkpoints chosen on validation.

    ``checkpoints``: (folder, key of this training): each partition saves its state there at every
    validation and resumes from it when the same training was stopped (``training.checkpoint``)."""
    from sedbench.complexity import check_budget

    if isinstance(method, str):
        method = build_method(method, method_settings(bench.config, method, plugins), plugins)
    cfg = schedule(bench, training_overrides)
    is_student = model_name is None
    name = model_name or bench.student_model
    n_mels, n_classes = bench.feature_cfg.n_mels, len(bench.classes)

    def build_student() -> nn.Module:
        if is_student:
            return bench.build_student()
        return build_model(name, n_mels=n_mels, n_classes=n_classes, **(model_kwargs or {}))

    if is_student:  # the student budget is a benchmark rule: enforce it before any training
        student = bench.config["student"]
        check_budget(build_student(), max_params=student.get("max_params"), max_macs=student.get("max_macs"),
                     n_frames=bench.feature_cfg.n_frames, name=name)
    teachers = {t: load_teacher(bench, t, bench.device, run_seed=seed) for t in method.teachers()}
    data, validation = bench.training_data, bench.validation

    def validate(model: nn.Module, rows: np.ndarray | None) -> tuple[float, float]:
        """(PSDS1, mean per-class PSDS1): early in training PSDS1 is often exactly 0 (its alpha_st = 1
        subtracts the spread across classes), and the per-class mean still ranks checkpoints."""
        frames, clips = predict(model, validation, bench.device, cfg.eval_batch_size, rows=rows)
        metrics, _ = bench.score_split(validation, frames, clips, rows=rows, which=("psds1",))
        per_class = [v for v in (metrics.get("per_class_psds1") or {}).values() if v is not None]
        return float(metrics["psds1"] or 0.0), float(np.mean(per_class)) if per_class else 0.0

    if cfg.selection == "dcase":
        from sedbench.training.selection import dcase_validator

        validate = dcase_validator(bench, cfg)  # noqa: F811 - DESED_task's objective replaces PSDS1
    with hook_errors(method.name, "partitions"):
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
        try:
            trained.append(train_partition(
                build_student=build_student, method=method, partition=partition, setup=setup, data=data,
                validation=validation, validate=validate, teachers=teachers, cfg=cfg,
                seed=seed * 1000 + i, device=bench.device, augment=augment,
                on_step=(lambda step, loss, task=task, what=what: progress.update(
                    task, completed=step, **({} if loss is None else {"description": f"{what} loss {loss:.3f}"})))
                if progress is not None else None,
                checkpoint=Checkpoint(checkpoints[0] / f"partition-{i}.pt", f"{checkpoints[1]}:{i}:{partition.name}")
                if checkpoints is not None else None,
            ))
        finally:  # a failed training leaves no half bar behind: its error says what happened
            if progress is not None:
                progress.remove_task(task)
    # a resumed training's time includes what the stopped process spent (its energy: with_stopped_share)
    train_s = time.perf_counter() - start + sum(p.earlier_s for p in trained)
    routes = deployment_routes(method, trained, bench.classes, bench.environments)
    frames, clips = routed_predict(routes, validation, bench.device, cfg.eval_batch_size)
    val_metrics, _ = bench.score_split(validation, frames, clips)
    return TrainResult(method, trained, val_metrics, train_s, routes)


# ------------------------------------------------------------------------------------ teachers
def train_teacher(bench: Benchmark, name: str, progress=None, force: bool = False,
                  run_seed: int | None = None) -> TeacherCache:
    """Train one teacher with the base recipe (optionally Freq-MixStyle), then cache its outputs.

    ``run_seed``: the run whose teacher this is when the profile trains teachers per seed
    (``teacher_seeds: per_run``); ignored with the default ``shared`` (one teacher for every run).
    The training runs with the benchmark's thread count (part of the teacher's key) under a lock: a
    second process that needs the same teacher waits for the first, then reads its cache entry.
    """
    from sedbench.locks import claim

    path = teacher_dir(bench, name, run_seed=run_seed)
    if (path / "info.json").is_file() and not force:
        return TeacherCache(path)

    def waiting() -> None:
        if progress is not None:
            progress.console.print(f"teacher {name}: another process is training it; waiting for it")

    with claim(teacher_lock(bench, name, run_seed), on_wait=waiting), bench.torch_threads():
        if (path / "info.json").is_file() and not force:
            return TeacherCache(path)  # trained by the process we waited for
        crash_log = path.with_name(f"{path.name}.traceback.txt")
        checkpoints = teacher_checkpoints(bench, name, run_seed)
        if force:  # trained again from step 0, not resumed from a stopped training's state
            shutil.rmtree(checkpoints, ignore_errors=True)
        try:
            cache = _train_teacher(bench, name, path, progress, run_seed, checkpoints)
        except SedbenchError:
            raise
        except Exception as exc:
            # a crash (a CUDA out-of-memory, a bug in a model) fails the runs that read this teacher in one
            # line, as a diverged one does, and the matrix goes on; a teacher has no run record, so its
            # traceback goes beside its cache entry
            atomic_write_text(crash_log, "".join(traceback.format_exception(exc)))
            raise TrainingError(f"teacher {name}: training raised {one_line(exc)} (traceback: {crash_log})") from exc
        crash_log.unlink(missing_ok=True)  # an earlier attempt's
        shutil.rmtree(checkpoints, ignore_errors=True)  # kept until now: a stopped or failed one resumes from it
        return cache


def _train_teacher(bench: Benchmark, name: str, path: Path, progress, run_seed: int | None,
                   checkpoints: Path) -> TeacherCache:
    model_name, options = teacher_model(bench.config, name)
    fms = teacher_freq_mixstyle(bench.config, name)
    seed = teacher_seed(bench, run_seed)
    augment = freq_mixstyle(p=fms) if fms else None
    label = f"teacher {name}" + (f" seed {seed}" if seed != teacher_seed(bench) else "")
    with track_energy() as energy:
        result = train_and_select(
            bench, "scratch", seed=seed, model_name=model_name, model_kwargs=options,
            training_overrides=teacher_recipe(bench.config, name),
            augment=augment, progress=progress, label=label, checkpoints=(checkpoints, path.name),
        )
    energy = with_stopped_share(energy, result.train_s, result.partitions[0].earlier_s)
    model = result.partitions[0].deployed.net
    arrays = teacher_outputs(bench, model)
    info = TeacherInfo(
        name=name, model=model_name, key=path.name.removeprefix(f"{name}-"),
        # the validation curve says how many steps a teacher needs to pull clear of its students
        validation={**result.validation, "best_step": result.partitions[0].best_step,
                    "history": result.partitions[0].history},
        embedding_dim=int(arrays["embedding"].shape[-1]) if "embedding" in arrays else None,
        params=sum(p.numel() for p in model.parameters()), train_s=result.train_s,
        # the CPU is recorded, not keyed (results.py says when runs differ in it): a cache shared across machines
        # serves a teacher trained on another CPU, and its record says which
        execution={**bench.execution, "cpu": cpu_label()}, **energy,
    )
    TeacherCache.write(path, arrays, info, state_dict=model.state_dict())
    cache = TeacherCache(path)
    cache.trained_here = True
    return cache


@torch.no_grad()
def teacher_outputs(bench: Benchmark, model: nn.Module, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Run a teacher once over the un-augmented training rows, in TrainingData row order."""
    model.eval()
    device = bench.device
    model.to(device)
    data = bench.training_data
    n_out = bench.encoder.n_out_frames
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(data), batch_size):
        rows = np.arange(start, min(start + batch_size, len(data)))
        parts = teacher_batch_outputs(model, torch.from_numpy(data.features(rows)).to(device), n_out)
        for key, value in parts.items():
            dtype = np.float16 if key == "embedding" else np.float32  # embeddings dominate the size
            chunks.setdefault(key, []).append(value.float().cpu().numpy().astype(dtype))
    model.cpu()
    return {key: np.concatenate(values) for key, values in chunks.items()}


@torch.no_grad()
def teacher_batch_outputs(model: nn.Module, x: torch.Tensor, n_out: int) -> dict[str, torch.Tensor]:
    """A teacher's cached outputs for one batch of features, on the features' device."""
    out = model(x, return_attention=True) if _accepts_attention(model) else model(x)
    parts = {"frame_logits": out.frame_logits, "clip_logits": out.clip_logits}
    if "attention" in out.features:
        parts["temporal_weights"] = resample_frames(
            attention_rollout(out.features["attention"]).unsqueeze(-1), n_out).squeeze(-1)
    if "embedding" in out.features:
        parts["embedding"] = resample_frames(out.features["embedding"].float(), n_out)
    return parts


def _accepts_attention(model: nn.Module) -> bool:
    import inspect

    return "return_attention" in inspect.signature(model.forward).parameters
