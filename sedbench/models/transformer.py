"""Transformer teacher: a conv stem (time / 4, frequency pooled away) and a pre-LN encoder.

Two stems: ``conv`` (plain conv -> BN -> ReLU -> pool blocks, cheap) and ``glu`` (DESED_task's CNN,
the gated blocks of the baseline CRNN and of the cnn teacher): the CNN front-end of the CNN-transformer
and conformer SED systems of DCASE 2020-2021, which learns the short events a plain stem misses.

The attention layer is our own so that it can expose its weights: the fast path calls
``F.scaled_dot_product_attention``; with ``return_attention=True`` it computes
softmax(QK^T / sqrt(d)) V explicitly and returns the weights (B, heads, T', T') per layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sedbench.models.base import Dropout, ModelOutput, SEDHead, freq_pools, register_model
from sedbench.models.crnn import CNN

STEMS = ("conv", "glu")


class ScaledDotProduct(nn.Module):
    """softmax(QK^T / sqrt(d)) V over (B, heads, T, d_head) tensors.

    A parameter-free leaf module on purpose: thop and ptflops do not see the matmuls inside
    ``scaled_dot_product_attention``, so ``sedbench.complexity.macs`` registers a rule for this class.
    """

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not need_weights:
            return F.scaled_dot_product_attention(q, k, v), None
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        return weights @ v, weights


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"transformer width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attend = ScaledDotProduct()
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, Tensor | None]:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y, weights = self.attend(q, k, v, need_weights=need_weights)
        return self.out(y.transpose(1, 2).reshape(b, t, d)), weights


class EncoderLayer(nn.Module):
    """Pre-LN transformer layer (more stable than post-LN for short CPU schedules)."""

    def __init__(self, dim: int, heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, ff_mult * dim), nn.GELU(), Dropout(dropout), nn.Linear(ff_mult * dim, dim)
        )
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, Tensor | None]:
        y, weights = self.attn(self.norm1(x), need_weights=need_weights)
        x = x + self.dropout(y)
        return x + self.dropout(self.ff(self.norm2(x))), weights


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    # Computed per call rather than stored: any clip length works and the state dict stays clean.
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return pe


class ConvStem(nn.Module):
    """conv3x3 -> BN -> ReLU -> AvgPool blocks; time / 4 in the first two, frequency pooled to 1."""

    def __init__(self, n_mels: int, channels: tuple[int, ...]):
        super().__init__()
        if len(channels) < 2:
            raise ValueError("the transformer stem needs at least 2 conv blocks")
        blocks = []
        for i, (c_out, f_pool) in enumerate(zip(channels, freq_pools(n_mels, len(channels)), strict=True)):
            c_in = 1 if i == 0 else channels[i - 1]
            blocks += [
                nn.Conv2d(c_in, c_out, 3, 1, 1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.AvgPool2d((2 if i < 2 else 1, f_pool)),
            ]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n_mels, T) -> (B, T / 4, C)
        return frame_tokens(self.blocks, x)


class GLUStem(nn.Module):
    """DESED_task's CNN (gated conv blocks, time / 4, frequency pooled to 1) as a token front-end."""

    def __init__(self, n_mels: int, channels: tuple[int, ...], dropout: float):
        super().__init__()
        self.cnn = CNN(n_mels, channels, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n_mels, T) -> (B, T / 4, C)
        return frame_tokens(self.cnn, x)


def frame_tokens(cnn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A 2-D CNN over (B, 1, T, n_mels) whose frequency axis pools to 1, read as (B, T', C) tokens."""
    return cnn(x.transpose(1, 2).unsqueeze(1)).squeeze(-1).transpose(1, 2)


class TransformerSED(nn.Module):
    def __init__(
        self,
        n_mels: int,
        n_classes: int,
        stem_channels: tuple[int, ...],
        dim: int,
        depth: int,
        heads: int,
        ff_mult: int,
        dropout: float,
        stem: str = "conv",
    ):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"transformer stem {stem!r} is not one of {', '.join(STEMS)}")
        channels = tuple(stem_channels)
        self.stem = ConvStem(n_mels, channels) if stem == "conv" else GLUStem(n_mels, channels, dropout)
        self.proj = nn.Linear(stem_channels[-1], dim)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ff_mult, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.dropout = Dropout(dropout)
        self.head = SEDHead(dim, n_classes)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ModelOutput:
        cnn = self.stem(x)
        h = self.proj(cnn)
        h = self.dropout(h + sinusoidal_positions(h.shape[1], h.shape[2], h.device))
        attention = []
        for layer in self.layers:
            h, weights = layer(h, need_weights=return_attention)
            if return_attention:
                attention.append(weights)
        embedding = self.norm(h)
        frame_logits, clip_logits = self.head(embedding)
        features: dict = {"cnn": cnn, "context": embedding, "embedding": embedding}
        if return_attention:
            features["attention"] = attention
        return ModelOutput(frame_logits, clip_logits, features)


@register_model("transformer")
def transformer(
    n_mels: int = 128,
    n_classes: int = 10,
    stem_channels: tuple[int, ...] = (32, 64, 128),
    dim: int = 192,
    depth: int = 4,
    heads: int = 4,
    ff_mult: int = 4,
    dropout: float = 0.1,
    stem: str = "conv",
) -> TransformerSED:
    """Teacher: conv stem + transformer encoder exposing attention weights and frame embeddings.

    ``stem: glu`` builds DESED_task's CNN with ``stem_channels`` (e.g. the baseline's 16, 32, 64, 128,
    128, 128, 128) in place of the plain stem."""
    return TransformerSED(n_mels, n_classes, stem_channels, dim, depth, heads, ff_mult, dropout, stem)
