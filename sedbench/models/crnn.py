"""CRNNs: the DCASE 2023 Task 4 baseline (``crnn``), its students and its wider teacher.

``crnn`` reproduces DESED_task's ``desed_task/nnet/CNN.py`` + ``CRNN.py`` (DCASE 2023 baseline,
without BEATs): 7 blocks of conv3x3 -> BatchNorm2d(eps=1e-3, momentum=0.99) -> GLU -> dropout 0.5
-> AvgPool, channels 16-32-64-128-128-128-128, a 2-layer BiGRU(128), dropout 0.5, a strong head
and an attention-pooled weak head: 1,112,420 parameters at 128 mels.
"""

from __future__ import annotations

import torch
from torch import nn

from sedbench.errors import ConfigError
from sedbench.models.base import GLU, Dropout, ModelOutput, SEDHead, freq_pools, register_model

BASELINE_CHANNELS = (16, 32, 64, 128, 128, 128, 128)


class ChannelSE(nn.Module):
    """Squeeze-excitation (Hu et al. 2018): channel weights from the time-frequency mean."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T, F) -> (B, C, 1, 1) weights
        return self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class AxisGate(nn.Module):
    """Gate along one axis (time or frequency): sigmoid(conv1d over the axis of the channel mean).

    A small kernel keeps the gate independent of the axis length, so the parameter count does not
    change with n_mels or clip length.
    """

    def __init__(self, axis: int, kernel: int = 3):
        super().__init__()
        self.axis = axis
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        other = 3 if self.axis == 2 else 2
        profile = x.mean(dim=(1, other))  # (B, L)
        gate = torch.sigmoid(self.conv(profile[:, None, :]))[:, 0]  # (B, L)
        return gate[:, None, :, None] if self.axis == 2 else gate[:, None, None, :]


class TFWSE(nn.Module):
    """Time-frequency-wise SE: a channel SE, a frequency-wise and a time-wise gate, averaged.

    Averaging the three recalibrations (rather than multiplying them) keeps the activation scale
    near x/2 at initialisation, like a single SE.
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.channel = ChannelSE(channels, reduction)
        self.freq = AxisGate(axis=3)
        self.time = AxisGate(axis=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # scale the small gates before broadcasting: only the final sum and product are full-size
        return x * ((self.channel(x) + self.freq(x)) / 3 + self.time(x) / 3)


# time pooling of the first two blocks for each stride of the first convolution: time / 4 overall
TIME_POOLS_BY_STEM_STRIDE = {1: (2, 2), 2: (2, 1)}


class CNN(nn.Module):
    """DESED_task's CNN: blocks conv -> BN -> GLU -> [tfwSE] -> dropout -> AvgPool(time, freq).

    Input (B, 1, T, F); output (B, C_last, T / 4, 1). Module names follow DESED_task (conv0, ...).
    ``stem_stride`` > 1 strides the first convolution in time and pools the next blocks less, so
    the output keeps T / 4 frames while the first blocks, whose full-resolution activations cost
    most of a CPU step, see fewer frames.
    """

    def __init__(self, n_mels: int, channels: tuple[int, ...], dropout: float, se: bool = False,
                 stem_stride: int = 1):
        super().__init__()
        if len(channels) < 2:
            raise ValueError("a CRNN needs at least 2 conv blocks (each of the first two pools time by 2)")
        if stem_stride not in TIME_POOLS_BY_STEM_STRIDE:
            raise ConfigError(f"stem_stride must be one of {', '.join(map(str, TIME_POOLS_BY_STEM_STRIDE))}, "
                              f"not {stem_stride!r}")
        # time / 4 overall (626 -> 156 frames) in the first two blocks, as DESED_task
        time_pools = TIME_POOLS_BY_STEM_STRIDE[stem_stride] + (1,) * (len(channels) - 2)
        layers = nn.Sequential()
        for i, (c_out, t_pool, f_pool) in enumerate(
            zip(channels, time_pools, freq_pools(n_mels, len(channels)), strict=True)
        ):
            c_in = 1 if i == 0 else channels[i - 1]
            stride = (stem_stride, 1) if i == 0 else 1
            layers.add_module(f"conv{i}", nn.Conv2d(c_in, c_out, 3, stride, 1))
            layers.add_module(f"batchnorm{i}", nn.BatchNorm2d(c_out, eps=0.001, momentum=0.99))
            layers.add_module(f"glu{i}", GLU(c_out))
            if se:
                layers.add_module(f"tfwse{i}", TFWSE(c_out))
            layers.add_module(f"dropout{i}", Dropout(dropout))
            layers.add_module(f"pooling{i}", nn.AvgPool2d((t_pool, f_pool)))
        self.cnn = layers
        self.out_channels = channels[-1]
        self.stem_stride = stem_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.cnn(x)
        # a strided stem rounds up (ceil(T / 2) frames), so T = 3 mod 4 leaves one frame over T // 4
        return out[:, :, : x.shape[2] // 4] if self.stem_stride > 1 else out


class CRNN(nn.Module):
    """CNN + BiGRU + DESED heads. Input (B, n_mels, T) log-mel; output at T // 4 frames."""

    def __init__(
        self,
        n_mels: int = 128,
        n_classes: int = 10,
        channels: tuple[int, ...] = BASELINE_CHANNELS,
        rnn_hidden: int = 128,
        rnn_layers: int = 2,
        dropout: float = 0.5,
        se: bool = False,
        skip: bool = False,
        stem_stride: int = 1,
    ):
        super().__init__()
        self.cnn = CNN(n_mels, tuple(channels), dropout, se=se, stem_stride=stem_stride)
        # a linear path from the CNN to the heads, added to the BiGRU's output (see se_crnn)
        self.skip = nn.Linear(self.cnn.out_channels, 2 * rnn_hidden) if skip else None
        self.rnn = nn.GRU(
            self.cnn.out_channels, rnn_hidden, num_layers=rnn_layers, bidirectional=True, batch_first=True
        )
        self.dropout = Dropout(dropout)
        self.head = SEDHead(2 * rnn_hidden, n_classes)

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> ModelOutput:
        # return_attention is part of the common signature; a CRNN has no attention maps.
        cnn = self.cnn(x.transpose(1, 2).unsqueeze(1))  # (B, C, T', 1)
        cnn = cnn.squeeze(-1).transpose(1, 2)  # (B, T', C)
        # the BiGRU always runs in fp32: under CUDA autocast cuDNN's RNN would run in fp16 whatever
        # dtype autocast asks for, and without loss scaling its gradients can underflow silently
        with torch.autocast(x.device.type, enabled=False):
            context, _ = self.rnn(cnn.float())
        if self.skip is not None:
            context = context + self.skip(cnn)
        frame_logits, clip_logits = self.head(self.dropout(context))
        return ModelOutput(frame_logits, clip_logits, {"cnn": cnn, "context": context})


@register_model("crnn")
def crnn(n_mels: int = 128, n_classes: int = 10, dropout: float = 0.5) -> CRNN:
    """The DCASE 2023 Task 4 baseline CRNN (1,112,420 parameters): the reference for 'one third'."""
    return CRNN(n_mels, n_classes, BASELINE_CHANNELS, rnn_hidden=128, rnn_layers=2, dropout=dropout)


@register_model("crnn-small")
def crnn_small(n_mels: int = 128, n_classes: int = 10, dropout: float = 0.5) -> CRNN:
    """Student: the baseline with 64 channels in blocks 3-7 and a BiGRU(64): ~321k parameters."""
    return CRNN(n_mels, n_classes, (16, 32, 64, 64, 64, 64, 64), rnn_hidden=64, rnn_layers=2, dropout=dropout)


@register_model("se-crnn")
def se_crnn(
    n_mels: int = 128, n_classes: int = 10, dropout: float = 0.5, skip: bool = True, stem_stride: int = 1,
    rnn_layers: int = 2,
) -> CRNN:
    """Student SE-CRNN of dual KD (Xiao & Das, "Dual Knowledge Distillation for Efficient Sound Event
    Detection", ICASSP 2024 workshops, arXiv:2402.02781): the baseline made compact (64 channels in
    blocks 3-7, BiGRU(64)) with squeeze-excitation in every conv block and time-frequency-wise SE
    (tfwSE: channel SE + frequency-wise and time-wise gates); ~341k parameters, under one third of
    the baseline. The paper gives no layer table; this is our reading of it.

    ``skip`` adds a linear path from the CNN to the heads around the BiGRU (8k parameters). Without
    it the student barely learns the short and tonal classes (alarms, meows, barks) in a CPU budget:
    the recurrence must first learn to pass frame-local evidence through before the heads see it.
    ``python benchmarks/student_ablation.py`` measures both on ``quick``; ``skip=False`` is the
    plain SE-CRNN.

    ``stem_stride=2, rnn_layers=1`` is a cheaper student (266k parameters): the first convolution
    strides time by 2 and one BiGRU layer is left. ``python benchmarks/step_profile.py --compare
    --candidate stem_stride=2,rnn_layers=1`` measures its step; quick keeps the defaults (see
    docs/datasheet.md, "What `quick` can and cannot tell").
    """
    return CRNN(
        n_mels, n_classes, (16, 32, 64, 64, 64, 64, 64), rnn_hidden=64, rnn_layers=rnn_layers, dropout=dropout,
        se=True, skip=skip, stem_stride=stem_stride,
    )


@register_model("crnn-large")
def crnn_large(
    n_mels: int = 128,
    n_classes: int = 10,
    width: float = 2.0,
    channels: tuple[int, ...] | None = None,
    rnn_hidden: int = 256,
    rnn_layers: int = 2,
    dropout: float = 0.5,
) -> CRNN:
    """Teacher: the baseline with every channel count times ``width`` and a wider BiGRU.

    Defaults (width 2, BiGRU 256) give ~4.4M parameters; profiles shrink it for CPU budgets.
    ``channels`` (one count per block) overrides ``width``: widening only the late blocks adds
    parameters at little compute, since those blocks see few time-frequency bins.
    """
    channels = tuple(channels) if channels else tuple(max(1, round(c * width)) for c in BASELINE_CHANNELS)
    return CRNN(n_mels, n_classes, channels, rnn_hidden=rnn_hidden, rnn_layers=rnn_layers, dropout=dropout)
