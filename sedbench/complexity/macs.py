"""MACs of one forward pass, counted three ways: thop, ptflops (pytorch backend), FlopCounterMode.

Each counter runs on its own deep copy in eval mode, so the caller's model never carries thop's
``total_ops``/``total_params`` buffers or ptflops' hooks. The counters differ on purpose-free
details (BatchNorm, pooling, activations, biases), so agreement within 10 % is what we expect;
larger gaps are flagged in the record.

What each counter misses and how we fill it in:
- thop and ptflops see modules, not functional calls: the attention core
  (``F.scaled_dot_product_attention``) is invisible to both. ``ScaledDotProduct`` is a leaf
  module, and we give both counters an analytic rule for it: QK^T and AV, B*h*T*T*d MACs each.
- FlopCounterMode counts aten matmuls and convolutions (it sees nn.GRU through its decomposition
  into addmm on CPU), but has no formula for the CPU flash-attention kernel; we map it to
  torch's own ``sdpa_flop`` formula.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import warnings

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from sedbench.models.transformer import ScaledDotProduct

DISAGREEMENT = 0.10


def attention_macs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> int:
    """Analytic MACs of softmax(QK^T) V for (B, heads, T, d) tensors (softmax itself not counted)."""
    b, h, tq, d = q.shape
    tk, dv = k.shape[-2], v.shape[-1]
    return b * h * tq * tk * (d + dv)


def gru_macs(gru: nn.GRU, n_frames: int, batch: int = 1) -> int:
    """Analytic MACs of an nn.GRU: per step and direction, 3 gates x (input + hidden) matmuls."""
    dirs = 2 if gru.bidirectional else 1
    total, n_in = 0, gru.input_size
    for _ in range(gru.num_layers):
        total += 3 * (n_in + gru.hidden_size) * gru.hidden_size * dirs
        n_in = gru.hidden_size * dirs
    return total * n_frames * batch


def _thop_attention(module: nn.Module, inputs: tuple, output) -> None:
    module.total_ops += torch.DoubleTensor([attention_macs(*inputs[:3])])


def _ptflops_attention(module: nn.Module, inputs: tuple, output) -> None:
    module.__flops__ += attention_macs(*inputs[:3])


def _cpu_sdpa_flops(q_shape, k_shape, v_shape, *args, out_shape=None, **kwargs) -> int:
    # FlopCounterMode passes shapes; the other arguments (dropout, causal, mask, scale) do not matter
    return sdpa_flop_count(q_shape, k_shape, v_shape)


def _private_copy(model: nn.Module) -> nn.Module:
    # counted on CPU: the counts do not depend on the device and the example input lives there
    return copy.deepcopy(model).cpu().eval()


def macs_thop(model: nn.Module, x: torch.Tensor) -> int:
    with warnings.catch_warnings():  # thop 0.1.1 still imports distutils' LooseVersion
        warnings.simplefilter("ignore", DeprecationWarning)
        from thop import profile

    with torch.no_grad():
        total, _ = profile(
            _private_copy(model), inputs=(x,), custom_ops={ScaledDotProduct: _thop_attention}, verbose=False
        )
    return int(total)


def macs_ptflops(model: nn.Module, x: torch.Tensor) -> int | None:
    from ptflops import get_model_complexity_info
    from ptflops.flops_counter import FLOPS_BACKEND

    out = io.StringIO()  # ptflops prints its failures on stdout instead of raising
    with contextlib.redirect_stdout(out), torch.no_grad():
        total, _ = get_model_complexity_info(
            _private_copy(model),
            tuple(x.shape[1:]),
            input_constructor=lambda _: x,
            print_per_layer_stat=False,
            as_strings=False,
            backend=FLOPS_BACKEND.PYTORCH,
            custom_modules_hooks={ScaledDotProduct: _ptflops_attention},
        )
    return None if total is None else int(total)


def macs_flop_counter(model: nn.Module, x: torch.Tensor) -> int:
    mapping = {}
    cpu_flash = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if cpu_flash is not None:
        mapping[cpu_flash] = _cpu_sdpa_flops
    net, counter = _private_copy(model), FlopCounterMode(display=False, custom_mapping=mapping)
    with torch.no_grad(), counter:
        net(x)
    return counter.get_total_flops() // 2  # it reports FLOPs = 2 x MACs


def count_macs(model: nn.Module, x: torch.Tensor) -> dict:
    """All three counts for input ``x`` (batch 1), ``macs`` (= thop's) and a disagreement flag."""
    x = x.cpu()
    counts = {
        "thop": macs_thop(model, x),
        "ptflops": macs_ptflops(model, x),
        "flop_counter": macs_flop_counter(model, x),
    }
    gaps = []
    for (a, ma), (b, mb) in itertools.combinations(counts.items(), 2):
        if ma is None or mb is None:
            continue
        gap = abs(ma - mb) / max(ma, mb, 1)
        if gap > DISAGREEMENT:
            gaps.append(f"{a} vs {b}: {gap:.0%}")
    failed = [k for k, v in counts.items() if v is None]
    note = "; ".join(gaps + [f"{k} failed" for k in failed])
    return {
        "macs": counts["thop"],
        "macs_thop": counts["thop"],
        "macs_ptflops": counts["ptflops"],
        "macs_flop_counter": counts["flop_counter"],
        "macs_disagreement": bool(gaps),
        "macs_note": note,
    }
