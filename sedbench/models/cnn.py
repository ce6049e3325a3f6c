"""CNN-only teacher: the baseline's GLU conv blocks (wider) and dilated temporal convolutions.

No recurrence: temporal context comes from residual 1-D convolutions over the frame sequence,
so this teacher makes different errors from the CRNNs (useful in ensembles).
"""

from __future__ import annotations

import torch
from torch import nn

from sedbench.models.base import Dropout, ModelOutput, SEDHead, register_model
from sedbench.models.crnn import BASELINE_CHANNELS, CNN


class TemporalBlock(nn.Module):
    """Residual conv1d -> BN -> ReLU over time; dilation widens the receptive field cheaply."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel // 2), dilation=dilation)
        self.norm = nn.BatchNorm1d(channels)
        self.act = nn.ReLU()
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return x + self.dropout(self.act(self.norm(self.conv(x))))


class CNNSED(nn.Module):
    def __init__(
        self, n_mels: int, n_classes: int, channels: tuple[int, ...], context_layers: int, kernel: int,
        dropout: float,
    ):
        super().__init__()
        self.cnn = CNN(n_mels, channels, dropout)
        c = self.cnn.out_channels
        blocks = (TemporalBlock(c, kernel, 2**i, dropout) for i in range(context_layers))
        self.temporal = nn.Sequential(*blocks)
        self.head = SEDHead(c, n_classes)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ModelOutput:
        cnn = self.cnn(x.transpose(1, 2).unsqueeze(1)).squeeze(-1)  # (B, C, T')
        context = self.temporal(cnn).transpose(1, 2)
        frame_logits, clip_logits = self.head(context)
        return ModelOutput(frame_logits, clip_logits, {"cnn": cnn.transpose(1, 2), "context": context})


@register_model("cnn")
def cnn(
    n_mels: int = 128,
    n_classes: int = 10,
    width: float = 2.0,
    channels: tuple[int, ...] | None = None,
    context_layers: int = 3,
    kernel: int = 3,
    dropout: float = 0.3,
) -> CNNSED:
    """Teacher: baseline channels times ``width`` (or explicit ``channels``), ``context_layers``
    dilated temporal convs, DESED heads."""
    channels = tuple(channels) if channels else tuple(max(1, round(c * width)) for c in BASELINE_CHANNELS)
    return CNNSED(n_mels, n_classes, channels, context_layers, kernel, dropout)
