"""Complexity of a deployed model: parameters, MACs (three counters), latency, size, memory.

``measure(model, feature_cfg)`` returns the ``complexity`` section of a run record::

    params                  deployed model only
    params_extra            {name: n} for training-only heads, EMA copies... (when the caller passes them)
    params_training_only    sum(params_extra)
    macs                    thop's count per 10 s clip (the figure DESED_task publishes)
    macs_thop, macs_ptflops, macs_flop_counter, macs_disagreement, macs_note
    model_size_bytes        fp32 state dict as torch.save writes it
    peak_memory_bytes       {"cpu": ..., "cuda": ...} of one inference above weights and input
    latency                 {"cpu_1_thread"|"cpu_all_threads"|"cuda": {"model"|"with_features": stats}}
    latency_ms              CPU, 1 thread, model only, median (the table's headline figure)
    input                   {"n_mels", "n_frames", "clip_seconds"}
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from sedbench.complexity.latency import feature_config, measure_latency
from sedbench.complexity.macs import count_macs, macs_thop
from sedbench.complexity.params import BASELINE_PARAMS, STUDENT_MAX_PARAMS, count_params, state_dict_bytes
from sedbench.errors import TrainingError

CLIP_SECONDS = 10.0  # every figure is per 10 s clip, the DESED clip length


def example_input(feature_cfg: object = None, n_frames: int | None = None, n_mels: int | None = None):
    """A fixed log-mel batch (1, n_mels, frames of a 10 s clip) in the [0, 1] range of min-max features."""
    cfg = dataclasses.replace(feature_config(feature_cfg), clip_duration=CLIP_SECONDS)
    shape = (1, n_mels or cfg.n_mels, n_frames or cfg.n_frames)
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


def measure(
    model: nn.Module,
    feature_cfg: object = None,
    runs: int = 50,
    warmup: int = 10,
    extra_modules: dict[str, nn.Module] | None = None,
    latency: bool = True,
    cuda: bool | None = None,
) -> dict:
    """The record's complexity section for ``model`` at the front end ``feature_cfg`` (default: DCASE).

    ``extra_modules`` are training-only parts (heads, EMA copies): counted apart, never in ``params``.
    """
    cfg = dataclasses.replace(feature_config(feature_cfg), clip_duration=CLIP_SECONDS)
    x = example_input(cfg)
    record: dict = {"params": count_params(model)}
    if extra_modules:
        record["params_extra"] = {name: count_params(m) for name, m in extra_modules.items()}
        record["params_training_only"] = sum(record["params_extra"].values())
    record.update(
        **count_macs(model, x),
        model_size_bytes=state_dict_bytes(model),
        input={"n_mels": cfg.n_mels, "n_frames": cfg.n_frames, "clip_seconds": CLIP_SECONDS},
    )
    if latency:
        timings = measure_latency(model, cfg, runs=runs, warmup=warmup, cuda=cuda)
        record["peak_memory_bytes"] = timings.pop("peak_memory_bytes")
        record["latency"] = timings
        record["latency_ms"] = timings["cpu_1_thread"]["model"]["median_ms"]
    return record


def check_budget(
    model: nn.Module,
    max_params: int | None = None,
    max_macs: int | None = None,
    feature_cfg: object = None,
    n_frames: int | None = None,
    name: str | None = None,
) -> None:
    """Raise TrainingError when ``model`` exceeds the student budget (parameters and/or thop MACs).

    MACs are counted per 10 s clip at ``feature_cfg`` (default DCASE); ``n_frames`` overrides its
    frame count, and the mel count comes from the model's build arguments when it has them.
    """
    name = name or getattr(model, "model_name", type(model).__name__)
    if max_params is not None:
        n = count_params(model)
        if n > max_params:
            why = " (one third of crnn)" if max_params == STUDENT_MAX_PARAMS else ""
            raise TrainingError(
                f"{name} has {n:,} parameters, over the student budget of {max_params:,}{why}; "
                "choose a smaller student"
            )
    if max_macs is not None:
        n_mels = getattr(model, "build_args", {}).get("n_mels")
        macs = macs_thop(model, example_input(feature_cfg, n_frames=n_frames, n_mels=n_mels))
        if macs > max_macs:
            raise TrainingError(
                f"{name} needs {macs / 1e6:,.1f} M MACs per 10 s clip, over the student budget of "
                f"{max_macs / 1e6:,.1f} M; choose a smaller student"
            )


__all__ = [
    "BASELINE_PARAMS",
    "STUDENT_MAX_PARAMS",
    "check_budget",
    "count_macs",
    "count_params",
    "example_input",
    "measure",
    "measure_latency",
    "state_dict_bytes",
]
