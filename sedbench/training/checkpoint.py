"""Mid-training checkpoints: a training that is stopped (Ctrl-C, SIGTERM, a lost machine) resumes from
its last validation instead of from step 0, and on CPU ends bit-identical to one never stopped.

What makes that hold: everything the loop reads or changes after step N is in the file (the student,
the mean student, the method's training-only modules, Adam's moments, torch's random generator, which
dropout reads, the numpy generator that draws mixup and augmentation, the best checkpoint so far and
the validation history). The batch order is a function of the seed and the step alone
(``MixedBatchSampler``), so it is replayed, not stored. A method's state lives in the modules its
``setup()`` returns or is recomputed by ``setup()``; state kept anywhere else would not be restored.

A file serves only the training it was written for: its ``key`` names the run (or teacher) and the
partition, and a file with another key, one that cannot be read, or one whose networks do not fit
this code's (written by another version of sedbench) is ignored: training starts from step 0. One
that fits but was written by another commit is resumed, and the record says which commit (``code``).
It is written whole (temporary file, synced, then renamed), so a kill mid-write leaves the previous one.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sedbench.io import atomic_path
from sedbench.provenance import code_state

CHECKPOINTS = "checkpoint"  # the folder, in a run's directory, where its partitions' states are kept

@dataclass(frozen=True)
class Checkpoint:
    path: Path
    key: str  # the training and partition this file belongs to

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none for this key."""
        if not self.path.is_file():
            return None
        try:  # weights_only: tensors, numbers, strings and containers; no code runs on load
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - a damaged or foreign file is not ours: start from step 0
            return None
        return state if isinstance(state, dict) and state.get("key") == self.key else None

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()  # not the temporary file: torch.save would embed its random name
        torch.save({**state, "key": self.key, "code": code_state()}, buffer)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as file:
            file.write(buffer.getvalue())
            file.flush()
            os.fsync(file.fileno())  # a power cut after the rename leaves this state, not an empty file


FIELDS = ("step", "seconds", "student", "mean_student", "modules", "optimizer", "torch_rng", "numpy_rng",
          "best_score", "best_step", "best_state", "history")


def fits(state: dict[str, Any], networks: dict[str, torch.nn.Module],
         optimizer: torch.optim.Optimizer | None = None) -> bool:
    """Whether ``state`` has every field, its networks' tensors have the names and shapes of
    ``networks`` and its optimizer state the parameter groups and moment shapes of ``optimizer``
    (checked before anything is restored: a partial restore would mix two trainings, and a load that
    raised half way would fail the pair on every retry)."""
    if any(name not in state for name in FIELDS):
        return False
    if optimizer is not None and not _optimizer_fits(state["optimizer"], optimizer):
        return False
    for name, net in networks.items():
        mine, theirs = net.state_dict(), state[name]
        if not isinstance(theirs, dict) or mine.keys() != theirs.keys():
            return False
        if any(not isinstance(theirs[k], torch.Tensor) or theirs[k].shape != v.shape for k, v in mine.items()):
            return False
    return True


def _optimizer_fits(saved: Any, optimizer: torch.optim.Optimizer) -> bool:
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list):
        return False
    groups = optimizer.param_groups
    if [len(g.get("params", ())) for g in saved["param_groups"]] != [len(g["params"]) for g in groups]:
        return False
    shapes = [p.shape for g in groups for p in g["params"]]
    for index, moments in (saved.get("state") or {}).items():
        if not isinstance(index, int) or not 0 <= index < len(shapes) or not isinstance(moments, dict):
            return False
        if any(isinstance(v, torch.Tensor) and v.dim() and v.shape != shapes[index] for v in moments.values()):
            return False
    return True


def saved_steps(folder: Path, key: str) -> list[int]:
    """The step each checkpoint of training ``key`` in ``folder`` was saved at (what a stopped training
    resumes from), in partition order: 0 for one that is unreadable or another training's; empty when
    there is none. Reads only; never raises (``--dry-run`` calls it)."""
    found: dict[int, int] = {}
    for path in folder.glob("partition-*.pt") if folder.is_dir() else []:
        index = path.stem.removeprefix("partition-")
        if not index.isdigit():  # a copy or a stray file: not one this code wrote
            continue
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            found[int(index)] = int(state["step"]) if str(state.get("key", "")).startswith(f"{key}:") else 0
        except Exception:  # noqa: BLE001 - unreadable: that partition starts from step 0
            found[int(index)] = 0
    return [found[i] for i in sorted(found)]
