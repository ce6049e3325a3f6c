"""Latency harness check and the complexity table of every registered model.

1. Repeatability: the harness runs twice on the same model in one process; the two medians
   should agree within 10 % (on a quiet machine; the CV says how quiet it was).
2. For every model at the quick (32 mels, hop 512) and DCASE (128 mels, hop 256) front ends:
   params, MACs per 10 s clip from thop / ptflops / FlopCounterMode, CPU latency at batch 1.

    python benchmarks/latency.py --runs 50
"""

from __future__ import annotations

import click
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
