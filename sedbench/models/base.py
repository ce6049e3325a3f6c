"""What every model shares: the output type, the registry and the DESED-style heads."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from sedbench.errors import ConfigError, SedbenchError, one_line

# DESED_task clamps the attention weights and we clamp probabilities before logit() with the same eps.
EPS = 1e-7


@dataclass
class ModelOutput:
    """frame_logits (B, T_out, C), clip_logits (B, C), named intermediate features (B, T_out, D)."""

    frame_logits: torch.Tensor
    clip_logits: torch.Tensor
    features: dict[str, torch.Tensor | list[torch.Tensor]] = field(default_factory=dict)


_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable:
    """Register ``factory(n_mels, n_classes, **kwargs) -> nn.Module`` under ``name``."""

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return decorator


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def build_model(name: str, n_mels: int = 128, n_classes: int = 10, **kwargs) -> nn.Module:
    """Build a registered model; unknown names and options raise a one-line ConfigError."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(model_names())}")
    factory = _REGISTRY[name]
    params = inspect.signature(factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            allowed = sorted(set(params) - {"n_mels", "n_classes"})
            raise ConfigError(
                f"model {name!r} has no option {', '.join(unknown)}; its options are {', '.join(allowed)}"
            )
    try:
        model = factory(n_mels=n_mels, n_classes=n_classes, **kwargs)
    except SedbenchError:
        raise
    except Exception as exc:  # a value torch refuses (a negative width, heads not dividing dim) ...
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "its defaults"
        raise ConfigError(f"model {name!r} cannot be built with {given}: {one_line(exc)}; "
                          "change these options") from exc  # ... in one line
    # 2-D convolution weights in channels-last (NHWC) layout: oneDNN's native layout on CPU (no
    # reorder around every conv, and the GLU's channel Linear reads contiguous rows); on a GPU it
    # is what cuDNN's tensor-core kernels want. benchmarks/step_profile.py --compare measures it.
    model = model.to(memory_format=torch.channels_last)
    # Kept on the module so a saved full model (or a record) can say how to rebuild it.
    model.model_name = name
    model.build_args = {"n_mels": n_mels, "n_classes": n_classes, **kwargs}
    return model


def freq_pools(n_mels: int, n_blocks: int) -> list[int]:
    """Frequency pooling per block so the CNN ends with exactly one frequency bin.

    Blocks halve the frequency axis (AvgPool floors, as in DESED_task) until one bin is left; the
    last block pools whatever remains. 128 mels over 7 blocks gives DESED's 2 x 7; 64 mels gives
    2 x 6 and 1.
    """
    pools, size = [], n_mels
    for i in range(n_blocks):
        p = size if i == n_blocks - 1 else (2 if size >= 2 else 1)
        pools.append(max(p, 1))
        size //= max(p, 1)
    return pools


class Dropout(nn.Dropout):
    """nn.Dropout with a faster mask on CPU: torch's bernoulli_ draws one number at a time and was
    a sixth of a CRNN training step on 2 cores; rand_like + compare is vectorised. Same
    distribution (keep with probability 1 - p, scale by 1 / (1 - p)), deterministic per seed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":  # on GPU torch's fused kernel is the faster one
            return super().forward(x)
        if self.p == 1.0:
            return torch.zeros_like(x)
        keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))


class GLU(nn.Module):
    """DESED_task's gated linear unit over channels: Linear(x) * sigmoid(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.linear = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, T, F)
        lin = self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return lin * torch.sigmoid(x)


class SEDHead(nn.Module):
    """Strong head + attention-pooled weak head, exactly as the DESED_task CRNN.

    weak = sum_t(sigmoid(strong) * a) / sum_t(a), with a = clamp(softmax over classes, 1e-7, 1).
    Frame logits are the strong head's pre-sigmoid output; clip logits are logit(weak).
    """

    def __init__(self, dim: int, n_classes: int):
        super().__init__()
        self.dense = nn.Linear(dim, n_classes)
        self.dense_softmax = nn.Linear(dim, n_classes)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # x: (B, T, D)
        frame_logits = self.dense(x)
        strong = torch.sigmoid(frame_logits)
        sof = torch.clamp(self.softmax(self.dense_softmax(x)), min=EPS, max=1)
        weak = (strong * sof).sum(1) / sof.sum(1)
        return frame_logits, torch.logit(weak.clamp(EPS, 1 - EPS))
