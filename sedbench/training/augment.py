"""Input augmentations of the teacher recipe (the students' recipe is fixed: soft mixup only)."""

from __future__ import annotations

import numpy as np
import torch


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
