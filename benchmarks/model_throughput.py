"""Training throughput of every registered model on this machine (clips/s).

One step = forward + BCE on frame and clip logits + backward + Adam, at batch 24, on random
log-mels of 10 s clips at the quick (64 mels, hop 512: 313 frames) and DCASE (128 mels, hop 256:
626 frames) front ends. The lead uses these numbers to size the quick profile's teachers.

    python benchmarks/model_throughput.py                      # all models, both front ends
    python benchmarks/model_throughput.py --resolution quick --variant "crnn-large:width=1.25,rnn_hidden=160"
"""

from __future__ import annotations

import os
import time

import click
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from sedbench.models import build_model, model_names

RESOLUTIONS = {"quick": (32, 313), "dcase": (128, 626)}

# Teacher sizes worth trying for the quick profile (only run with --candidates).
CANDIDATES = [
    "crnn-large:width=1.0,rnn_hidden=128",
    "crnn-large:width=1.0,rnn_hidden=192",
    "crnn-large:channels=[16,32,64,128,256,256,256],rnn_hidden=192",
    "crnn-large:width=1.5,rnn_hidden=192",
    "transformer:stem_channels=[16,32,64],dim=128,depth=3,heads=4",
    "transformer:stem_channels=[16,32,64],dim=192,depth=4,heads=4",
    "transformer:stem_channels=[32,64,128],dim=192,depth=4,heads=4",
    "cnn:width=1.0,context_layers=3",
    "cnn:channels=[16,32,64,128,256,256,256],context_layers=3",
    "cnn:width=1.5,context_layers=3",
]


def parse_variant(spec: str) -> tuple[str, dict]:
    """'name:key=value,key=[1,2]' -> (name, kwargs); values are parsed as YAML."""
    import yaml

    name, _, rest = spec.partition(":")
    kwargs: dict = {}
    for item in filter(None, _split_top(rest)):
        key, _, value = item.partition("=")
        parsed = yaml.safe_load(value)
        kwargs[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return name, kwargs


def _split_top(text: str) -> list[str]:
    # split on commas outside brackets, so stem_channels=[16,32,64] stays one item
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def throughput(name: str, kwargs: dict, n_mels: int, frames: int, batch: int, steps: int) -> tuple:
    """(params, clips per wall second, clips per CPU second of this process)."""
    torch.manual_seed(0)
    model = build_model(name, n_mels=n_mels, n_classes=10, **kwargs).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, n_mels, frames)
    out = model(x[:1])
    strong = torch.randint(0, 2, (batch, out.frame_logits.shape[1], 10)).float()
    weak = strong.amax(1)

    def step() -> None:
        o = model(x)
        loss = F.binary_cross_entropy_with_logits(o.frame_logits, strong)
        loss = loss + F.binary_cross_entropy_with_logits(o.clip_logits, weak)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up: allocator and kernels
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return sum(p.numel() for p in model.parameters()), batch * steps / wall, batch * steps / cpu


@click.command()
@click.option("--resolution", type=click.Choice(["quick", "dcase", "both"]), default="both")
@click.option("--batch", default=24, show_default=True)
@click.option("--steps", default=3, show_default=True, help="Timed steps after one warm-up step.")
@click.option("--models", default=None, help="Comma list [default: every registered model].")
@click.option("--variant", "variants", multiple=True, help="NAME:key=value,... (repeatable).")
@click.option("--candidates", is_flag=True, help="Also time the quick-profile teacher candidates.")
@click.option("--threads", default=None, type=int, help="torch threads [default: torch's choice].")
def main(resolution: str, batch: int, steps: int, models: str | None, variants: tuple[str, ...],
         candidates: bool, threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    specs = [(m, {}) for m in (models.split(",") if models else model_names())]
    specs += [parse_variant(v) for v in variants + (tuple(CANDIDATES) if candidates else ())]
    # On a shared machine wall time depends on the neighbours; CPU time per clip (with 1 thread)
    # does not, and times the number of free cores it predicts an idle machine's throughput.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = Table(title=f"training throughput, batch {batch}, {torch.get_num_threads()} threads, load {load}")
    for col in ("model", "options", "front end", "params", "clips/s", "clips/CPU-s", "s/step"):
        table.add_column(col)
    for res in RESOLUTIONS if resolution == "both" else (resolution,):
        n_mels, frames = RESOLUTIONS[res]
        for name, kwargs in specs:
            n, rate, cpu_rate = throughput(name, kwargs, n_mels, frames, batch, steps)
            options = ",".join(f"{k}={v}" for k, v in kwargs.items()) or "-"
            table.add_row(name, options, f"{res} ({n_mels}x{frames})", f"{n:,}", f"{rate:.1f}",
                          f"{cpu_rate:.1f}", f"{batch / rate:.2f}")
            Console().print(f"{name} {options} {res}: {n:,} params, {rate:.1f} clips/s, "
                            f"{cpu_rate:.1f} clips/CPU-s", highlight=False)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
