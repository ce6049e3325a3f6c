"""The teacher zoo and the teacher-output cache.

Teachers are trained once per benchmark settings (keyed by a config hash) with the base recipe, then
run once over the un-augmented training clips. Their outputs (frame and clip logits, the
transformer's attention-rollout temporal weights, frame embeddings) are stored on disk and served
per batch, so a KD step costs no teacher forward pass. Mixup is applied to the cached outputs with
the same permutation and weights as the inputs (``TeacherBatch``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from sedbench.errors import SedbenchError
from sedbench.io import atomic_write_json
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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        old = path.parent / f".{path.name}.old-{os.getpid()}"
        try:
            for name, array in arrays.items():
                np.save(tmp / f"{name}.npy", array)
            if state_dict is not None:
                torch.save(state_dict, tmp / "model.pt")
            info.outputs = tuple(arrays)
            atomic_write_json(tmp / "info.json", asdict(info))
            if path.exists():
                os.replace(path, old)
            os.replace(tmp, path)
        finally:
            for leftover in (tmp, old):
                if leftover.exists():
                    shutil.rmtree(leftover, ignore_errors=True)


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
def freq_mixstyle(p: float = 0.5, alpha: float = 0.1):
    """Freq-MixStyle (Schmid et al. 2022): mix per-frequency mean/std across clips of the batch."""

    def augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if rng.random() >= p:
            return x
        mu = x.mean(dim=2, keepdim=True)  # (B, F, 1): statistics over time, per frequency
        sig = (x.var(dim=2, keepdim=True) + 1e-6).sqrt()
        normed = (x - mu.detach()) / sig.detach()
        lam = torch.from_numpy(rng.beta(alpha, alpha, size=(x.shape[0], 1, 1))).to(x)
        perm = torch.from_numpy(rng.permutation(x.shape[0])).to(x.device)
        mu_mix = lam * mu + (1 - lam) * mu[perm]
        sig_mix = lam * sig + (1 - lam) * sig[perm]
        return normed * sig_mix + mu_mix

    return augment


def teacher_spec(bench: Benchmark, name: str) -> dict[str, Any]:
    teachers = bench.config.get("teachers", {})
    if name not in teachers:
        raise SedbenchError(
            f"teacher {name!r} is not defined in profile {bench.name}; defined: {', '.join(teachers) or 'none'}"
        )
    spec = dict(teachers[name])
    spec.setdefault("model", name)
    return spec


def teacher_identity(bench: Benchmark, name: str) -> dict[str, Any]:
    """Everything that determines a trained teacher, bit for bit: its spec and recipe, the data and
    front end, and how training executes (device, CPU threads, torch version; see Benchmark.execution)."""
    return {
        "teacher": teacher_spec(bench, name), "name": name, "data": bench.data_fingerprint,
        "features": bench.config["features"], "recipe": bench.config["training"],
        "teacher_training": bench.config.get("teacher_training", {}), "execution": bench.execution,
    }


def teacher_key(bench: Benchmark, name: str) -> str:
    from sedbench.config import config_hash

    return config_hash(teacher_identity(bench, name))


def teacher_dir(bench: Benchmark, name: str) -> Path:
    return bench.cache_root / "teachers" / f"{name}-{teacher_key(bench, name)}"


def teacher_lock(bench: Benchmark, name: str) -> Path:
    path = teacher_dir(bench, name)
    return path.parent / f".{path.name}.lock"


def read_teacher_info(path: Path) -> dict[str, Any] | None:
    """A cached teacher's info.json (written last, so its presence means complete); None if absent."""
    info = Path(path) / "info.json"
    return json.loads(info.read_text()) if info.is_file() else None


def load_teacher(bench: Benchmark, name: str, device: torch.device | str = "cpu") -> TeacherCache:
    """A cached teacher; ``a+b`` names an ensemble that averages the teachers' logits."""
    if "+" in name:
        return TeacherCache.ensemble([load_teacher(bench, part, device) for part in name.split("+")])
    path = teacher_dir(bench, name)
    if not (path / "info.json").is_file():
        raise SedbenchError(f"teacher {name} is not trained yet; run `sedbench teachers train --profile {bench.name}`")
    return TeacherCache(path, device)


def train_teacher(bench: Benchmark, name: str, progress=None, force: bool = False) -> TeacherCache:
    """Train one teacher with the base recipe (optionally Freq-MixStyle), then cache its outputs.

    The training runs with the benchmark's thread count (part of the teacher's key) under a lock: a
    second process that needs the same teacher waits for the first, then reads its cache entry.
    """
    from sedbench.locks import claim

    path = teacher_dir(bench, name)
    if (path / "info.json").is_file() and not force:
        return TeacherCache(path)

    def waiting() -> None:
        if progress is not None:
            progress.console.print(f"teacher {name}: another process is training it; waiting for it")

    # one process trains a teacher; another that needs it waits, then reads the cache
    with claim(teacher_lock(bench, name), on_wait=waiting), bench.torch_threads():
        if (path / "info.json").is_file() and not force:
            return TeacherCache(path)  # trained by the process we waited for
        return _train_teacher(bench, name, path, progress)


def _train_teacher(bench: Benchmark, name: str, path: Path, progress) -> TeacherCache:
    from sedbench.runner import train_and_select  # the engine and the methods depend on this module

    spec = teacher_spec(bench, name)
    model_name = spec.pop("model")
    fms = spec.pop("freq_mixstyle", bench.config.get("teacher_training", {}).get("freq_mixstyle", 0.0))
    settings = dict(bench.config.get("teacher_training", {}))
    settings.pop("freq_mixstyle", None)
    seed = int(settings.pop("seed", 0))
    augment = freq_mixstyle(p=float(fms)) if fms else None
    result = train_and_select(
        bench, "scratch", seed=seed, model_name=model_name, model_kwargs=spec, training_overrides=settings,
        augment=augment, progress=progress, label=f"teacher {name}",
    )
    model = result.partitions[0].deployed.net
    arrays = teacher_outputs(bench, model)
    info = TeacherInfo(
        name=name, model=model_name, key=teacher_key(bench, name), validation=result.validation,
        embedding_dim=int(arrays["embedding"].shape[-1]) if "embedding" in arrays else None,
        params=sum(p.numel() for p in model.parameters()), train_s=result.train_s,
        execution=dict(bench.execution),
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
        x = torch.from_numpy(data.features(rows)).to(device)
        out = model(x, return_attention=True) if _accepts_attention(model) else model(x)
        parts = {"frame_logits": out.frame_logits, "clip_logits": out.clip_logits}
        if "attention" in out.features:
            parts["temporal_weights"] = resample_frames(
                attention_rollout(out.features["attention"]).unsqueeze(-1), n_out).squeeze(-1)
        if "embedding" in out.features:
            parts["embedding"] = resample_frames(out.features["embedding"].float(), n_out)
        for key, value in parts.items():
            dtype = np.float16 if key == "embedding" else np.float32  # embeddings dominate the size
            chunks.setdefault(key, []).append(value.float().cpu().numpy().astype(dtype))
    model.cpu()
    return {key: np.concatenate(values) for key, values in chunks.items()}


def _accepts_attention(model: nn.Module) -> bool:
    import inspect

    return "return_attention" in inspect.signature(model.forward).parameters


def cached_thread_counts(bench: Benchmark, name: str) -> list[int]:
    """Thread counts for which this teacher is cached (the key includes the thread count)."""
    import copy

    from sedbench.benchmark import available_cpus

    found = []
    for threads in range(1, max(available_cpus(), bench.threads) + 1):
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
