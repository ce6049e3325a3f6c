"""The teacher zoo and the teacher-output cache.

Teachers are trained once per benchmark settings (keyed by a config hash; with ``teacher_seeds:
per_run`` once per run seed as well) with the base recipe by ``sedbench.training.fit.train_teacher``,
then run once over the un-augmented training clips. This module stores and serves their outputs
(frame and clip logits, the transformer's attention-rollout temporal weights, frame embeddings), so a
KD step costs no teacher forward pass. Mixup is applied to the cached outputs with the same
permutation and weights as the inputs (``TeacherBatch``). It imports nothing from training but the
mixup description: methods and the engine depend on it, never the other way round.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from sedbench.config import config_hash, teacher_freq_mixstyle, teacher_model, teacher_recipe
from sedbench.errors import ConfigError, SedbenchError
from sedbench.io import atomic_write_json, make_temp_dir, replace_dir
from sedbench.training.mixup import Mix

if TYPE_CHECKING:
    from sedbench.benchmark import Benchmark

OUTPUT_FILES = ("frame_logits", "clip_logits", "temporal_weights", "embedding")


@dataclass
class TeacherInfo:
    """What a method may know about a teacher: its validation quality and what it outputs."""

    name: str
    model: str
    key: str
    validation: dict[str, Any] = field(default_factory=dict)  # psds1, psds2, per_class_psds1, ...
    embedding_dim: int | None = None
    outputs: tuple[str, ...] = ("frame_logits", "clip_logits")
    params: int = 0
    train_s: float = 0.0
    execution: dict[str, Any] = field(default_factory=dict)  # device, threads, torch it was trained with
    energy_kwh: float | None = None  # codecarbon, see sedbench.energy (energy_source says how)
    energy_source: str = "not measured"

    def per_class_scores(self, metric: str = "per_class_psds1") -> dict[str, float]:
        return dict(self.validation.get(metric, {}))


class TeacherBatch:
    """A teacher's cached outputs for the rows of one batch, mixed exactly like the inputs."""

    def __init__(self, arrays: dict[str, torch.Tensor], mix: Mix) -> None:
        self._arrays = arrays
        self.mix = mix

    def _get(self, name: str) -> torch.Tensor:
        if name not in self._arrays:
            raise SedbenchError(f"this teacher has no cached {name!r}; pick a teacher that provides it")
        return self._arrays[name].float()

    def frame_probs(self, tau: float = 1.0) -> torch.Tensor:
        """sigma(z_T / tau) per frame (B, T, C); soft mixup mixes probabilities, as it mixes labels."""
        return self.mix.apply(torch.sigmoid(self._get("frame_logits") / tau))

    def clip_probs(self, tau: float = 1.0) -> torch.Tensor:
        return self.mix.apply(torch.sigmoid(self._get("clip_logits") / tau))

    def temporal_weights(self) -> torch.Tensor:
        """Attention-rollout importance over frames (B, T), a distribution per clip."""
        weights = self.mix.apply(self._get("temporal_weights"))
        return weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)

    def embedding(self) -> torch.Tensor:
        """Frame embeddings (B, T, D) at the student's frame rate."""
        return self.mix.apply(self._get("embedding"))


class TeacherCache:
    """A trained teacher's outputs on the training rows, held in memory for fast gathering."""

    def __init__(self, path: Path, device: torch.device | str = "cpu") -> None:
        self.path = Path(path)
        self.trained_here = False  # True when this process trained it (train_teacher)
        meta = read_teacher_info(self.path)
        meta["outputs"] = tuple(meta["outputs"])
        self.info = TeacherInfo(**meta)
        self.arrays = {
            name: torch.from_numpy(np.load(self.path / f"{name}.npy")).to(device)
            for name in self.info.outputs
        }

    @classmethod
    def ensemble(cls, caches: list[TeacherCache]) -> TeacherCache:
        """Teachers averaged in logit space (SPEC.md 3); only outputs that all of them have."""
        first = caches[0]
        merged = object.__new__(cls)
        merged.path = first.path
        merged.trained_here = False
        shared = [n for n in first.info.outputs if all(n in c.arrays for c in caches)]
        merged.arrays = {n: torch.stack([c.arrays[n].float() for c in caches]).mean(0) for n in shared
                         if n in ("frame_logits", "clip_logits")}
        merged.info = TeacherInfo(
            name="+".join(c.info.name for c in caches), model="ensemble", key="+".join(c.info.key for c in caches),
            outputs=tuple(merged.arrays), params=sum(c.info.params for c in caches),
        )
        return merged

    def batch(self, index: torch.Tensor, mix: Mix) -> TeacherBatch:
        index = index.to(next(iter(self.arrays.values())).device)
        return TeacherBatch({name: array[index] for name, array in self.arrays.items()}, mix)

    @staticmethod
    def write(path: Path, arrays: dict[str, np.ndarray], info: TeacherInfo,
              state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """Write every file (outputs, model.pt, info.json last) into a temporary folder, then publish
        it with one rename: a reader sees the whole entry or none. An entry already there (``--force``)
        is moved aside first, never deleted before its replacement is complete."""
        path = Path(path)
        tmp = make_temp_dir(path, prefix=f".{path.name}.tmp-")
        try:
            for name, array in arrays.items():
                np.save(tmp / f"{name}.npy", array)
            if state_dict is not None:
                torch.save(state_dict, tmp / "model.pt")
            info.outputs = tuple(arrays)
            atomic_write_json(tmp / "info.json", asdict(info))
            replace_dir(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- attention rollout
def attention_rollout(attentions: list[torch.Tensor]) -> torch.Tensor:
    """Temporal importance over frames from per-layer attention (Abnar & Zuidema 2020).

    Each layer's attention is averaged over heads, the residual path is added (0.5 A + 0.5 I) and
    rows renormalised; the layers are multiplied. A frame's importance is the attention the whole
    clip pays to it: the column mean of the rollout, a distribution over frames (B, T).
    """
    rollout = None
    for layer in attentions:
        attn = layer.float().mean(1)  # (B, T, T)
        eye = torch.eye(attn.shape[-1], device=attn.device).expand_as(attn)
        attn = 0.5 * attn + 0.5 * eye
        attn = attn / attn.sum(-1, keepdim=True)
        rollout = attn if rollout is None else attn @ rollout
    importance = rollout.mean(1)
    return importance / importance.sum(-1, keepdim=True)


def resample_frames(x: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Linear interpolation over the time axis (dim 1) to ``n_frames``: (B, T, ...) -> (B, n, ...)."""
    if x.shape[1] == n_frames:
        return x
    shape = x.shape
    flat = x.reshape(shape[0], shape[1], -1).transpose(1, 2)
    out = torch.nn.functional.interpolate(flat, size=n_frames, mode="linear", align_corners=False)
    return out.transpose(1, 2).reshape(shape[0], n_frames, *shape[2:])


# ------------------------------------------------------------------------------------ the zoo
def teacher_spec(bench: Benchmark, name: str) -> dict[str, Any]:
    teachers = bench.config.get("teachers", {})
    if name not in teachers:
        raise SedbenchError(
            f"teacher {name!r} is not defined in profile {bench.name}; defined: {', '.join(teachers) or 'none'}"
        )
    spec = dict(teachers[name])
    spec.setdefault("model", name)
    return spec


TEACHER_SEEDS = ("shared", "per_run")


def teacher_seeds_mode(bench: Benchmark) -> str:
    """``shared``: one teacher for every run; ``per_run``: run seed s distils from a teacher trained
    with seed ``teacher_training.seed + s`` (teacher randomness enters the seed-level statistics)."""
    mode = bench.config.get("teacher_seeds", "shared")
    if mode not in TEACHER_SEEDS:
        raise ConfigError(f"teacher_seeds must be one of {', '.join(TEACHER_SEEDS)}, not {mode!r}")
    return mode


def teacher_seed(bench: Benchmark, run_seed: int | None = None) -> int:
    """The seed a teacher is trained with, for the run of seed ``run_seed`` (None: the shared teacher)."""
    base = int((bench.config.get("teacher_training") or {}).get("seed", 0))
    if run_seed is None or teacher_seeds_mode(bench) == "shared":
        return base
    return base + int(run_seed)


def teacher_identity(bench: Benchmark, name: str, run_seed: int | None = None) -> dict[str, Any]:
    """Everything that determines a trained teacher, bit for bit: its model and options, the recipe it
    trains with as resolved (``config.teacher_recipe``, its Freq-MixStyle and its seed, both absent at
    0, their default), the data and front end, and how training executes (device, CPU threads, torch
    version; see Benchmark.execution). Resolved, so one teacher has one key however it is spelled:
    ``teachers.NAME.training.steps=8000`` or ``teacher_training.steps=8000`` for it alone, seed 0 named
    or not, ``teacher_training.seed=2`` or the ``per_run`` teacher of run seed 2."""
    teacher_spec(bench, name)  # an unknown name: one line naming the profile's teachers
    model, options = teacher_model(bench.config, name)
    recipe = teacher_recipe(bench.config, name)
    if fms := teacher_freq_mixstyle(bench.config, name):
        recipe["freq_mixstyle"] = fms
    if seed := teacher_seed(bench, run_seed):
        recipe["seed"] = seed
    identity = {
        "teacher": {"model": model, **options}, "name": name, "data": bench.data_fingerprint,
        "features": bench.config["features"], "recipe": bench.config["training"],
        "teacher_training": recipe, "execution": bench.execution,
    }
    if "postprocess" in bench.config:  # it scores the checkpoints selection picks from
        identity["postprocess"] = bench.config["postprocess"]
    return identity


def teacher_key(bench: Benchmark, name: str, run_seed: int | None = None) -> str:
    return config_hash(teacher_identity(bench, name, run_seed))


def teacher_dir(bench: Benchmark, name: str, run_seed: int | None = None) -> Path:
    return bench.cache_root / "teachers" / f"{name}-{teacher_key(bench, name, run_seed)}"


def teacher_lock(bench: Benchmark, name: str, run_seed: int | None = None) -> Path:
    path = teacher_dir(bench, name, run_seed)
    return path.parent / f".{path.name}.lock"


def teacher_checkpoints(bench: Benchmark, name: str, run_seed: int | None = None) -> Path:
    """Where a teacher's training keeps its state until it is cached (``training.checkpoint``)."""
    path = teacher_dir(bench, name, run_seed)
    return path.parent / f".{path.name}.checkpoint"


def teacher_run_seeds(bench: Benchmark, seeds: list[int]) -> list[int | None]:
    """The run seeds whose teachers differ: [None] when teachers are shared, else the distinct ones."""
    if teacher_seeds_mode(bench) == "shared":
        return [None]
    distinct: dict[int, int | None] = {}
    for s in seeds:
        distinct.setdefault(teacher_seed(bench, s), s)
    return list(distinct.values())


def read_teacher_info(path: Path) -> dict[str, Any] | None:
    """A cached teacher's info.json (written last, so its presence means complete); None if absent."""
    info = Path(path) / "info.json"
    return json.loads(info.read_text()) if info.is_file() else None


def load_teacher(bench: Benchmark, name: str, device: torch.device | str = "cpu",
                 run_seed: int | None = None) -> TeacherCache:
    """A cached teacher; ``a+b`` names an ensemble that averages the teachers' logits. ``run_seed``
    picks the run's own teacher when the profile trains teachers per seed (``teacher_seeds: per_run``)."""
    if "+" in name:
        return TeacherCache.ensemble([load_teacher(bench, part, device, run_seed) for part in name.split("+")])
    path = teacher_dir(bench, name, run_seed)
    if not (path / "info.json").is_file():
        seed = teacher_seed(bench, run_seed)
        which = f"teacher {name}" + (f" (seed {seed})" if seed != teacher_seed(bench) else "")
        raise SedbenchError(f"{which} is not trained yet; `sedbench run` trains missing teachers, or run "
                            f"`sedbench teachers train --profile {bench.name}`")
    return TeacherCache(path, device)


def cached_thread_counts(bench: Benchmark, name: str) -> list[int]:
    """Thread counts for which this teacher is cached (the key includes the thread count)."""
    import copy

    found = []
    for threads in range(1, max(os.cpu_count() or 1, bench.threads) + 1):
        other = copy.copy(bench)
        other.threads = threads
        if (teacher_dir(other, name) / "info.json").is_file():
            found.append(threads)
    return found


def teachers_table(bench: Benchmark) -> pd.DataFrame:
    """One row per teacher of the profile: trained or not (at this thread count; ``note`` names the
    thread counts it is cached for otherwise), and its validation scores."""
    rows = []
    for name in bench.config.get("teachers", {}):
        path = teacher_dir(bench, name)
        info = read_teacher_info(path)
        row: dict[str, Any] = {"teacher": name, "model": teacher_spec(bench, name)["model"],
                               "trained": info is not None, "path": str(path), "note": ""}
        if info is None and bench.device.type == "cpu":
            others = cached_thread_counts(bench, name)
            if others:
                row["note"] = f"cached for --threads {', '.join(map(str, others))}, not {bench.threads}"
        if info is not None:
            row.update(params=info["params"], psds1=info["validation"].get("psds1"),
                       psds2=info["validation"].get("psds2"), train_s=info["train_s"])
        rows.append(row)
    return pd.DataFrame(rows)
