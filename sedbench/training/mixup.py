"""Soft mixup as in the DCASE baseline, expressed as (permutation, weight) so that the same mix can be
applied to inputs, labels and cached teacher outputs alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Mix:
    """``mixed[i] = lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]``; identity rows have lam = 1."""

    perm: torch.Tensor  # (B,) long
    lam: torch.Tensor  # (B,) float
    # known on the CPU when the mix is drawn: half of the steps mix nothing, and apply() then costs
    # nothing for inputs, labels and every cached teacher output alike (and needs no device sync)
    mixed: bool = False

    @classmethod
    def identity(cls, batch_size: int, device: torch.device | str = "cpu") -> Mix:
        return cls(torch.arange(batch_size, device=device), torch.ones(batch_size, device=device))

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        if not self.mixed:
            return x
        lam = self.lam.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return lam * x + (1 - lam) * x[self.perm]

    @property
    def is_identity(self) -> bool:
        return not self.mixed


def draw_mix(
    groups: list[torch.Tensor], batch_size: int, rng: np.random.Generator, prob: float, alpha: float
) -> Mix:
    """Draw one mix for the batch: with probability ``prob``, each boolean mask in ``groups`` (the
    strong part, the weak part) is mixed within itself with c ~ Beta(alpha, alpha), c >= 0.5, as
    DESED_task does; rows outside every group (unlabeled clips) stay unmixed."""
    mix = Mix.identity(batch_size)
    if prob <= 0 or rng.random() >= prob:
        return mix
    for mask in groups:
        rows = torch.nonzero(mask, as_tuple=False).flatten()
        if len(rows) < 2:
            continue
        c = float(rng.beta(alpha, alpha))
        c = max(c, 1 - c)
        shuffled = rows[torch.from_numpy(rng.permutation(len(rows)))]
        mix.perm[rows] = shuffled
        mix.lam[rows] = c
        mix.mixed = True
    return mix
