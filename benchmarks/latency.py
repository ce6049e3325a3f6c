"""Latency harness check and the complexity table of every registered model.

1. Repeatability: the harness runs twice on the same model in one process; the two medians
   should agree within 10 % (on a quiet machine; the CV says how quiet it was). Then the machine's
   own drift: one long series of plain calls cut into windows of --runs, the spread of the window
   medians. When that spread is over 10 %, no harness can make two series agree within 10 %.
2. For every model at the quick (32 mels, hop 512) and DCASE (128 mels, hop 256) front ends:
   params, MACs per 10 s clip from thop / ptflops / FlopCounterMode, CPU latency at batch 1.

    python benchmarks/latency.py --runs 50
"""

from __future__ import annotations

import time

import click
import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from sedbench.complexity import measure
from sedbench.complexity.latency import measure_latency
from sedbench.models import build_model, model_names

FRONT_ENDS = {
    "quick": {"n_mels": 32, "n_fft": 1024, "win_length": 1024, "hop_length": 512},
    "dcase": {"n_mels": 128, "n_fft": 2048, "win_length": 2048, "hop_length": 256},
}
console = Console(highlight=False, width=200)  # wide tables stay readable in logs


def machine_drift(model: torch.nn.Module, runs: int, windows: int = 8) -> list[float]:
    """Medians of consecutive windows of one long series of bare calls, 1 thread, DCASE front end."""
    from sedbench.complexity.latency import feature_config
    from sedbench.data.features import logmel

    cfg = feature_config(FRONT_ENDS["dcase"])
    feats = logmel(0.1 * torch.randn(1, cfg.n_samples, generator=torch.Generator().manual_seed(0)), cfg)
    net, previous = model.eval(), torch.get_num_threads()
    torch.set_num_threads(1)
    seconds = []
    with torch.inference_mode():
        for _ in range(runs * windows):
            start = time.perf_counter()
            net(feats)
            seconds.append(time.perf_counter() - start)
    torch.set_num_threads(previous)
    return [float(np.median(w)) * 1e3 for w in np.array_split(np.asarray(seconds), windows)]


def _ms(stats: dict) -> str:
    return f"{stats['median_ms']:.1f} (IQR {stats['iqr_ms']:.1f}, CV {stats['cv']:.0%})"


@click.command()
@click.option("--runs", default=50, show_default=True)
@click.option("--warmup", default=10, show_default=True)
@click.option("--repeat-model", default="se-crnn", show_default=True, help="Model of the repeat check.")
@click.option("--models", default=None, help="Comma list [default: every registered model].")
@click.option("--skip-table", is_flag=True)
def main(runs: int, warmup: int, repeat_model: str, models: str | None, skip_table: bool) -> None:
    model = build_model(repeat_model, n_mels=128)
    medians = []
    for _ in range(2):
        result = measure_latency(model, FRONT_ENDS["dcase"], runs, warmup, threads=(1,), cuda=False)
        medians.append(result["cpu_1_thread"]["model"])
    a, b = medians
    for label, key in (("wall", "median_ms"), ("CPU time", "cpu_median_ms")):
        gap = abs(a[key] - b[key]) / min(a[key], b[key])
        verdict = "ok" if gap <= 0.10 else "over 10 %"
        console.print(f"repeatability ({repeat_model}, DCASE, 1 thread, {runs} runs), {label} medians: "
                      f"{a[key]:.1f} vs {b[key]:.1f} ms, gap {gap:.1%} ({verdict})")
    console.print(f"  spread of the two wall series: {_ms(a)} / {_ms(b)}")
    console.print(f"  95 % CI of each median: {a['median_ci95_ms'][0]:.1f}-{a['median_ci95_ms'][1]:.1f} / "
                  f"{b['median_ci95_ms'][0]:.1f}-{b['median_ci95_ms'][1]:.1f} ms; warm-up calls {a['warmup']} / "
                  f"{b['warmup']}")
    window_medians = machine_drift(model, runs)
    spread = max(window_medians) / min(window_medians) - 1
    console.print(f"machine drift: medians of {len(window_medians)} consecutive windows of {runs} calls "
                  f"(same model, no harness): {', '.join(f'{m:.1f}' for m in window_medians)} ms, "
                  f"max/min - 1 = {spread:.0%}")
    if skip_table:
        return
    table = Table(title=f"complexity per 10 s clip (CPU latency in ms, batch 1, {runs} runs)")
    for col in ("model", "front end", "params", "MACs thop", "ptflops", "FlopCounter", "1 thread",
                "all threads", "1 thread + features"):
        table.add_column(col)
    for front, cfg in FRONT_ENDS.items():
        for name in models.split(",") if models else model_names():
            rec = measure(build_model(name, n_mels=cfg["n_mels"]), cfg, runs=runs, warmup=warmup, cuda=False)
            lat = rec["latency"]
            flag = " !" if rec["macs_disagreement"] else ""
            table.add_row(
                name, front, f"{rec['params']:,}", f"{rec['macs_thop'] / 1e6:.1f} M{flag}",
                f"{rec['macs_ptflops'] / 1e6:.1f} M", f"{rec['macs_flop_counter'] / 1e6:.1f} M",
                _ms(lat["cpu_1_thread"]["model"]), _ms(lat["cpu_all_threads"]["model"]),
                _ms(lat["cpu_1_thread"]["with_features"]),
            )
            console.print(f"{name} {front}: done", style="dim")
    console.print(table)


if __name__ == "__main__":
    main()
