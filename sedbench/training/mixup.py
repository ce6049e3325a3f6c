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

    def to(self, device: torch.device | str) -> Mix:
        """The same mix on another device (the engine draws it on the CPU, then moves it with the batch)."""
        return Mix(self.perm.to(device, non_blocking=True), self.lam.to(device, non_blocking=True), self.mixed)

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
    DESED_task does; rows outside every group (unlabeled clips) stay unmixed.

    A mix is decided on the host, from the batch's CPU masks and the numpy ``rng``, before the
    batch moves (``Mix.to`` then moves it along): no step waits on a GPU for ``nonzero``, and a seed
    gives the same mixes on every device.
    """
    perm = np.arange(batch_size)
    lam = np.ones(batch_size, dtype=np.float32)
    mixed = False
    if prob > 0 and rng.random() < prob:
        for mask in groups:
            rows = np.flatnonzero(host_array(mask))
            if len(rows) < 2:
                continue
            c = float(rng.beta(alpha, alpha))
            perm[rows] = rows[rng.permutation(len(rows))]
            lam[rows] = max(c, 1 - c)
            mixed = True
    return Mix(torch.from_numpy(perm), torch.from_numpy(lam), mixed)


def host_array(mask: torch.Tensor | np.ndarray) -> np.ndarray:
    """A boolean mask as a numpy array (a device tensor is copied back: avoid that in a hot loop)."""
    if isinstance(mask, np.ndarray):
        return mask
    return (mask if mask.device.type == "cpu" else mask.cpu()).numpy()
