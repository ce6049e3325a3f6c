"""Mid-training checkpoints: a training that is stopped (Ctrl-C, SIGTERM, a lost machine) resumes from
its last validation instead of from step 0, and on CPU ends bit-identical to one never stopped.

What makes that hold: everything the loop reads or changes after step N is in the file (the student,
the mean student, the method's training-only modules, Adam's moments, torch's random generator, which
dropout reads, the numpy generator that draws mixup and augmentation, the best checkpoint so far and
the validation history). The batch order is a function of the seed and the step alone
(``MixedBatchSampler``), so it is replayed, not stored. A method's state lives in the modules its
``setup()`` returns or is recomputed by ``setup()``; state kept anywhere else would not be restored.

A file serves only the training it was written for: its ``key`` names the run (or teacher) and the
partition, and a file with another key, or one that cannot be read, is ignored (training starts from
step 0). It is written whole (temporary file, then rename), so a kill mid-write leaves the previous one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sedbench.io import atomic_path

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
        torch.save({**state, "key": self.key}, buffer)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            tmp.write_bytes(buffer.getvalue())


def saved_steps(folder: Path) -> list[int]:
    """The step each checkpoint in ``folder`` was saved at (what a stopped run resumes from), in
    partition order; empty when there is none. Reads only."""
    steps = []
    paths = folder.glob("partition-*.pt") if folder.is_dir() else []
    for path in sorted(paths, key=lambda p: int(p.stem.removeprefix("partition-"))):
        try:
            steps.append(int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["step"]))
        except Exception:  # noqa: BLE001 - unreadable: that partition starts from step 0
            steps.append(0)
    return steps
