"""What ``sedbench profile`` measures: a registered model name, or a finished run's directory.

A run directory holds ``run.json`` (its ``config`` gives ``student.model``, the student's options
and ``features``) and ``model.pt``, one of:
- the runner's checkpoint: ``{"model": name, "kwargs": {...}, "partitions": [{"state_dict": ...}]}``
  (the first partition is profiled: environment-aware runs deploy one student per environment,
  all of the same architecture);
- a bare state dict (the model is rebuilt from run.json);
- a full model saved with ``torch.save(model)``.
The class count is read from the state dict's strong head, so it never has to be guessed.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from sedbench.config import student_model
from sedbench.errors import SedbenchError
from sedbench.models import build_model, model_names


def load_target(target: str, n_mels: int = 128, n_classes: int = 10) -> tuple[nn.Module, dict | None, str]:
    """(model in eval mode, the run's feature config or None, a label for the printout)."""
    path = Path(target)
    if path.is_dir():
        return load_run(path)
    if target in model_names():
        return build_model(target, n_mels=n_mels, n_classes=n_classes).eval(), None, target
    raise SedbenchError(
        f"{target}: neither a run directory nor a registered model; give a folder with run.json and "
        f"model.pt, or one of {', '.join(model_names())}"
    )


def load_run(run_dir: Path) -> tuple[nn.Module, dict | None, str]:
    record_path, weights_path = run_dir / "run.json", run_dir / "model.pt"
    for p in (record_path, weights_path):
        if not p.is_file():
            raise SedbenchError(f"{p}: missing; profile needs a finished run (run.json and model.pt)")
    try:
        config = json.loads(record_path.read_text(encoding="utf-8")).get("config", {})
    except json.JSONDecodeError as exc:
        raise SedbenchError(f"{record_path}: not valid JSON ({exc.msg}); re-run or fix the file") from exc
    features = config.get("features")
    try:
        saved = torch.load(weights_path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise SedbenchError(f"{weights_path}: unreadable checkpoint ({exc}); re-run to rewrite it") from exc
    label = str(run_dir)
    if isinstance(saved, nn.Module):
        return saved.eval(), features, label
    name, kwargs = student_model(config)
    state = saved
    if isinstance(saved, dict) and "partitions" in saved:
        name, kwargs = saved.get("model", name), saved.get("kwargs", kwargs)
        state = saved["partitions"][0]["state_dict"]
        if len(saved["partitions"]) > 1:
            label += f" (1 of {len(saved['partitions'])} deployed students)"
    if not name:
        raise SedbenchError(f"{record_path}: config.student.model is missing; cannot rebuild the model")
    head = next((v for k, v in state.items() if k.endswith("head.dense.weight")), None)
    n_classes = head.shape[0] if head is not None else 10
    n_mels = (features or {}).get("n_mels", 128)
    model = build_model(name, n_mels=n_mels, n_classes=n_classes, **kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise SedbenchError(f"{weights_path}: does not fit model {name!r} at {n_mels} mels: "
                            f"{' '.join(str(exc).split())[:300]}") from exc
    return model.eval(), features, label
