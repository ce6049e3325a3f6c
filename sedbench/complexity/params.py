"""Parameter counts and the size of a model on disk."""

from __future__ import annotations

import io

import torch
from torch import nn

BASELINE_PARAMS = 1_112_420  # the DCASE 2023 Task 4 baseline CRNN (`crnn`) at 128 mels
STUDENT_MAX_PARAMS = BASELINE_PARAMS // 3  # 370,806: "one third of the baseline"


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Parameters of ``module``; shared tensors count once (``parameters()`` deduplicates)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(state_dict)`` with every floating tensor as fp32 (what a deployment ships)."""
    state = {k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getbuffer().nbytes
