"""The mean student: an exponential moving average of the student's weights (DCASE mean teacher)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_mean_student(student: nn.Module) -> nn.Module:
    mean = copy.deepcopy(student)
    for p in mean.parameters():
        p.requires_grad_(False)
    return mean


def ema_factor(step: int, decay: float) -> float:
    """DESED_task's warm start: the average follows the student closely for the first steps."""
    return min(1.0 - 1.0 / (step + 1), decay)


@torch.no_grad()
def update_mean_student(mean: nn.Module, student: nn.Module, factor: float) -> None:
    mean_params = [p for p in mean.parameters()]
    student_params = [p.detach() for p in student.parameters()]
    # foreach keeps the update to a couple of fused kernels instead of one per tensor
    torch._foreach_mul_(mean_params, factor)
    torch._foreach_add_(mean_params, student_params, alpha=1.0 - factor)
