"""A terminal table of one complexity record (``sedbench profile``)."""

from __future__ import annotations

from rich.table import Table


def _latency(stats: dict) -> str:
    text = f"{stats['median_ms']:.2f} ms (IQR {stats['iqr_ms']:.2f}, CV {stats['cv']:.1%}, n={stats['runs']})"
    if "cpu_median_ms" in stats:
        text += f", CPU time {stats['cpu_median_ms']:.2f} ms"
    return text


def complexity_table(record: dict, title: str = "complexity") -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("figure", style="bold", no_wrap=True)
    table.add_column("value")
    inp = record["input"]
    shape = f"{inp['n_mels']} mels x {inp['n_frames']} frames"
    table.add_row("input", f"{shape} ({inp['clip_seconds']:g} s clip)")
    table.add_row("parameters", f"{record['params']:,}")
    for name, n in record.get("params_extra", {}).items():
        table.add_row(f"  training-only: {name}", f"{n:,}")
    counters = (("macs_thop", "thop"), ("macs_ptflops", "ptflops"), ("macs_flop_counter", "FlopCounter"))
    for key, label in counters:
        value = record[key]
        table.add_row(f"MACs ({label})", "failed" if value is None else f"{value / 1e6:,.1f} M")
    table.add_row("size on disk (fp32)", f"{record['model_size_bytes'] / 1e6:.2f} MB")
    for device, peak in record.get("peak_memory_bytes", {}).items():
        if peak is not None:
            table.add_row(f"peak memory ({device})", f"{peak / 1e6:.1f} MB")
    for setting, pair in record.get("latency", {}).items():
        threads = pair["model"].get("threads")
        where = setting.replace("_", " ") + (f" ({threads})" if setting == "cpu_all_threads" else "")
        table.add_row(f"latency {where}", _latency(pair["model"]))
        table.add_row("  with features", _latency(pair["with_features"]))
    return table
