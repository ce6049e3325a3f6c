"""The comparison table: one row per method, against a reference method, with significance tests.

``comparison_table`` returns raw numbers (a DataFrame; notes and settings in ``.attrs``); ``render``
turns it into rich text, markdown, LaTeX, CSV or JSON. CSV and JSON carry full-precision numbers.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table

from sedbench.errors import SedbenchError
from sedbench.results import load, select_comparable
from sedbench.stats import bootstrap_psds_difference, holm, paired_test, run_psds_statistics, summarize

FORMATS = ("rich", "markdown", "latex", "csv", "json")
ALIASES = {
    "latency": "latency_cpu_1t_ms",
    "latency_cpu": "latency_cpu_1t_ms",
    "latency_all": "latency_cpu_all_ms",
    "train_time": "train_s",
    "time": "train_s",
    "map": "weak_map",
}
COST_COLUMNS = ["params", "macs", "latency_cpu_1t_ms", "train_s"]
_LOWER_PREFIXES = ("params", "macs", "latency", "size_mb", "peak_memory", "energy")


def lower_is_better(column: str) -> bool:
    return column.startswith(_LOWER_PREFIXES) or column.endswith("_s") or column.endswith("_ms")


def resolve_metric(df: pd.DataFrame, metric: str) -> str:
    name = ALIASES.get(metric, metric)
    if name not in df.columns or not pd.api.types.is_numeric_dtype(pd.to_numeric(df[name], errors="coerce")):
        numeric = [
            c
            for c in df.columns
            if c not in ("seed",) and pd.to_numeric(df[c], errors="coerce").notna().any()
        ]
        raise SedbenchError(
            f"--metric {metric}: no such column in the results; choose from {', '.join(numeric)}"
        )
    return name


def comparison_table(
    df: pd.DataFrame,
    metric: str = "psds1",
    reference: str = "scratch",
    *,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    bootstrap: bool = False,
    n_resamples: int = 1000,
    sort: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per method: mean/std/CI over seeds, delta vs ``reference`` with paired tests, Holm-corrected.

    ``df`` is ``sedbench.results.load(...)``; only the completed runs of one (benchmark, hash) group
    are used (see ``select_comparable``). With ``bootstrap`` (PSDS metrics only), each method is also
    compared with the reference by a clip-level paired bootstrap on its stored scores.
    """
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metric = resolve_metric(runs, metric)
    values = runs.assign(_v=pd.to_numeric(runs[metric], errors="coerce"))
    by_method = {
        m: dict(zip(g["seed"].astype(int), g["_v"], strict=False))
        for m, g in values.groupby("method", sort=True)
    }
    ref_values = by_method.get(reference)
    if ref_values is None:
        notes.append(
            f"reference method {reference!r} has no completed runs: no deltas or tests "
            "(choose another with --reference)"
        )

    rows = []
    for method, seeds in by_method.items():
        s = summarize(list(seeds.values()), confidence)
        row = {
            "method": method,
            "n": s.n,
            "mean": s.mean,
            "std": s.std,
            "ci_low": s.ci_low,
            "ci_high": s.ci_high,
        }
        if ref_values is not None and method != reference:
            t = paired_test(seeds, ref_values, confidence)
            row.update(
                delta=t.delta,
                delta_ci_low=t.ci_low,
                delta_ci_high=t.ci_high,
                n_pairs=t.n,
                p=t.p_ttest,
                p_wilcoxon=t.p_wilcoxon,
                note=t.note,
            )
        else:
            row["note"] = "reference" if method == reference else ""
        group = runs[runs["method"] == method]
        for col in COST_COLUMNS:
            row[col] = pd.to_numeric(group[col], errors="coerce").mean() if col in group else None
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("delta", "delta_ci_low", "delta_ci_high", "n_pairs", "p", "p_wilcoxon"):
        if col not in table:
            table[col] = None
    table["n_pairs"] = table["n_pairs"].astype("Int64")
    table["p_holm"] = holm(_as_list(table["p"]))
    table["p_wilcoxon_holm"] = holm(_as_list(table["p_wilcoxon"]))
    table["sig"] = [_stars(p) for p in table["p_holm"]]
    if bootstrap:
        _add_bootstrap(table, runs, metric, reference, n_resamples, confidence, notes)

    order = [
        "method",
        "n",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "delta",
        "delta_ci_low",
        "delta_ci_high",
        "n_pairs",
        "p",
        "p_holm",
        "sig",
        "p_wilcoxon",
        "p_wilcoxon_holm",
    ]
    order += [c for c in table.columns if c.startswith("boot_")] + COST_COLUMNS + ["note"]
    table = table[order]
    table = _sort(table, sort or "mean", metric)
    table.attrs.update(
        metric=metric,
        reference=reference,
        benchmark=str(runs["benchmark"].iloc[0]),
        benchmark_hash=str(runs["benchmark_hash"].iloc[0]),
        notes=notes,
        confidence=confidence,
        higher_is_better=not lower_is_better(metric),
        n_runs=len(runs),
    )
    return table


def _add_bootstrap(table, runs, metric, reference, n_resamples, confidence, notes) -> None:
    cols = {"boot_delta": [], "boot_ci_low": [], "boot_ci_high": [], "boot_p": []}
    if metric not in ("psds1", "psds2"):
        notes.append(f"the clip-level bootstrap covers psds1/psds2, not {metric}")
    dirs = {
        m: dict(zip(g["seed"].astype(int), g["run_dir"], strict=False)) for m, g in runs.groupby("method")
    }
    cache: dict[str, object] = {}

    def stats_of(path: str):
        if path not in cache:
            cache[path] = run_psds_statistics(path, metric)
        return cache[path]

    for method in table["method"]:
        result = None
        if metric in ("psds1", "psds2") and method != reference and reference in dirs:
            seeds = sorted(set(dirs[method]) & set(dirs[reference]))
            try:
                if seeds:
                    result = bootstrap_psds_difference(
                        [stats_of(dirs[method][s]) for s in seeds],
                        [stats_of(dirs[reference][s]) for s in seeds],
                        n_resamples=n_resamples,
                        confidence=confidence,
                    )
            except SedbenchError as exc:
                notes.append(f"bootstrap skipped for {method}: {exc}")
        cols["boot_delta"].append(result.delta if result else None)
        cols["boot_ci_low"].append(result.ci_low if result else None)
        cols["boot_ci_high"].append(result.ci_high if result else None)
        cols["boot_p"].append(result.p if result else None)
    for k, v in cols.items():
        table[k] = v
    table["boot_p_holm"] = holm(cols["boot_p"])
    table["boot_sig"] = [_stars(p) for p in table["boot_p_holm"]]


def _sort(table: pd.DataFrame, column: str, metric: str) -> pd.DataFrame:
    column = ALIASES.get(column, column)
    if column == metric:
        column = "mean"
    if column not in table.columns:
        raise SedbenchError(f"--sort {column}: choose a column of the table: {', '.join(table.columns)}")
    if column in ("method", "note", "sig"):
        ascending = True
    elif column in ("mean", "delta", "ci_low", "ci_high", "delta_ci_low", "delta_ci_high", "boot_delta"):
        ascending = lower_is_better(metric)
    else:
        ascending = True if column.startswith("p") or lower_is_better(column) else False
    return table.sort_values(column, ascending=ascending, na_position="last", kind="stable").reset_index(
        drop=True
    )


def _as_list(col: pd.Series) -> list[float | None]:
    return [None if _missing(v) else float(v) for v in col]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _stars(p) -> str:
    if _missing(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


# -------------------------------------------------------------------------------------- rendering
def render(table: pd.DataFrame, fmt: str = "rich") -> str:
    """The table as text in ``fmt`` (rich, markdown, latex, csv, json)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        rows = [
            {k: (None if _missing(v) else _plain(v)) for k, v in r.items()} for r in table.to_dict("records")
        ]
        meta = {k: _plain(v) for k, v in table.attrs.items()}
        return json.dumps({**meta, "rows": rows}, indent=2)
    if fmt == "rich":
        buf = io.StringIO()
        Console(file=buf, width=200, color_system=None).print(rich_table(table))
        return buf.getvalue() + "".join(f"note: {n}\n" for n in table.attrs.get("notes", []))
    if fmt == "markdown":
        head, body = display_cells(table, bold=lambda s: f"**{s}**")
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines + [""] + [f"_{n}_" for n in table.attrs.get("notes", [])]) + "\n"
    if fmt == "latex":
        head, body = display_cells(table, bold=lambda s: rf"\textbf{{{s}}}", escape=_latex_escape)
        lines = [
            r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}",
            r"\toprule",
            " & ".join(head) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(r) + r" \\" for r in body]
        lines += [r"\bottomrule", r"\end{tabular}"]
        lines += [f"% note: {n}" for n in table.attrs.get("notes", [])]
        return "\n".join(lines) + "\n"
    raise SedbenchError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def rich_table(table: pd.DataFrame) -> Table:
    a = table.attrs
    title = f"{a.get('benchmark', '')} [{a.get('benchmark_hash', '')}]: {a.get('metric', '')}"
    title += f" vs {a.get('reference', '')}"
    head, body = display_cells(table, bold=lambda s: f"[bold green]{s}[/]", escape=_rich_escape)
    t = Table(
        title=_rich_escape(title),
        caption="p: paired t-test by seed, Holm-corrected; * <.05 ** <.01 *** <.001",
    )
    for i, h in enumerate(head):
        t.add_column(h, justify="left" if i == 0 else "right")
    for r in body:
        t.add_row(*r)
    return t


def display_cells(table: pd.DataFrame, bold: Callable[[str], str], escape: Callable[[str], str] = str):
    """Human-readable header and rows; the best value of each ranked column is passed through ``bold``."""
    a = table.attrs
    metric, ref = a.get("metric", "metric"), a.get("reference", "reference")
    pct = int(round(100 * a.get("confidence", 0.95)))
    higher = a.get("higher_is_better", True)
    cols: list[tuple[str, Callable[[dict], str], str | None, bool]] = [
        ("Method", lambda r: str(r["method"]), None, True),
        (f"{metric} mean ± std (n)", lambda r: _mean_std(r, metric), "mean", higher),
        (
            f"Δ vs {ref} [{pct}% CI]",
            lambda r: _delta(r, metric, "delta", "delta_ci_low", "delta_ci_high"),
            "delta",
            higher,
        ),
        ("p (Holm)", lambda r: _p(r["p_holm"]) + (f" {r['sig']}" if r["sig"] else ""), None, True),
    ]
    if table["p_wilcoxon_holm"].notna().any():
        cols.append(("p Wilcoxon (Holm)", lambda r: _p(r["p_wilcoxon_holm"]), None, True))
    if "boot_delta" in table:
        cols += [
            (
                f"Δ clip bootstrap [{pct}% CI]",
                lambda r: _delta(r, metric, "boot_delta", "boot_ci_low", "boot_ci_high"),
                None,
                True,
            ),
            (
                "p boot (Holm)",
                lambda r: _p(r["boot_p_holm"]) + (f" {r['boot_sig']}" if r["boot_sig"] else ""),
                None,
                True,
            ),
        ]
    cols += [
        ("Params", lambda r: _si(r["params"]), "params", False),
        ("MACs", lambda r: _si(r["macs"]), "macs", False),
        (
            "CPU latency (1 thread)",
            lambda r: _num(r["latency_cpu_1t_ms"], "{:.2f} ms"),
            "latency_cpu_1t_ms",
            False,
        ),
        ("Train time", lambda r: _duration(r["train_s"]), "train_s", False),
    ]
    records = table.to_dict("records")
    best = {}
    for _, _, col, hi in cols:
        vals = pd.to_numeric(table[col], errors="coerce") if col and col in table else None
        if vals is not None and vals.nunique() > 1:  # a tie everywhere highlights nothing
            best[col] = vals.max() if hi else vals.min()
    head = [escape(c[0]) for c in cols]
    body = []
    for r in records:
        cells = []
        for _, fn, col, _ in cols:
            text = escape(fn(r))
            if col in best and not _missing(r[col]) and r[col] == best[col]:
                text = bold(text)
            cells.append(text)
        body.append(cells)
    return head, body


def _fmt_metric(v: float, metric: str) -> str:
    if abs(v) >= 1000:
        return _si(v)
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def _mean_std(r: dict, metric: str) -> str:
    if _missing(r["mean"]):
        return "–"
    std = "" if _missing(r["std"]) else f" ± {_fmt_metric(r['std'], metric)}"
    return f"{_fmt_metric(r['mean'], metric)}{std} ({r['n']})"


def _delta(r: dict, metric: str, key: str, lo: str, hi: str) -> str:
    if _missing(r.get(key)):
        return "–"
    d = r[key]
    text = ("+" if d >= 0 else "") + _fmt_metric(d, metric)
    if not _missing(r.get(lo)):
        text += f" [{_fmt_metric(r[lo], metric)}, {_fmt_metric(r[hi], metric)}]"
    return text


def _p(p) -> str:
    if _missing(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _num(v, fmt: str) -> str:
    return "–" if _missing(v) else fmt.format(v)


def _si(v) -> str:
    if _missing(v):
        return "–"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def _duration(s) -> str:
    if _missing(s):
        return "–"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _latex_escape(s: str) -> str:
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
        ("±", r"$\pm$"),
        ("Δ", r"$\Delta$"),
        ("<", r"$<$"),
    ):
        s = s.replace(a, b)
    return s


def _rich_escape(s: str) -> str:
    return markup_escape(s)


def load_comparison(
    results: str | os.PathLike = "results",
    metric: str = "psds1",
    reference: str = "scratch",
    **kwargs,
) -> pd.DataFrame:
    """``comparison_table`` over a results folder, with a one-line error when it holds no runs.

    ``data``: compare the runs' evaluations on that data set (``sedbench evaluate RUN --data``)
    instead of their own eval split.
    """
    data = kwargs.pop("data", None)
    if data is not None:
        from sedbench.evaluation.ondata import load_on_data

        df = load_on_data(results, data)
    else:
        df = load(results)
    if df.empty:
        raise SedbenchError(
            f"no run records in {results}: `sedbench run` produces them (e.g. `sedbench run --methods all`)"
        )
    table = comparison_table(df, metric, reference, **kwargs)
    if data is not None:
        table.attrs["data"] = data
        table.attrs["notes"].insert(0, f"metrics on data set {data} (`sedbench evaluate RUN --data`), "
                                       "not on the runs' own eval split")
    return table


def print_table(
    results: str | os.PathLike = "results",
    metric: str = "psds1",
    benchmark: str | None = None,
    reference: str = "scratch",
    console: Console | None = None,
    fmt: str = "rich",
    **kwargs,
) -> pd.DataFrame:
    """Print the comparison table (rich on the console, or any other format as plain text)."""
    console = console or Console()
    table = load_comparison(results, metric, reference, benchmark=benchmark, **kwargs)
    if fmt == "rich":
        rt = rich_table(table)
        width = console.width
        if not console.is_terminal:
            # piped output gets rich's 80-column default, which wraps every cell: use the table's own width
            console.width = max(width, console.measure(rt, options=console.options.update_width(400)).maximum)
        try:
            console.print(rt)
        finally:
            console.width = width
        for note in table.attrs.get("notes", []):
            console.print(f"[yellow]note:[/] {markup_escape(note)}", highlight=False)
    else:
        console.print(render(table, fmt), markup=False, highlight=False, soft_wrap=True, end="")
        if fmt == "csv":  # stdout stays parseable; what was chosen or left out still gets said
            err = Console(stderr=True)
            for note in table.attrs.get("notes", []):
                err.print(f"note: {note}", markup=False, highlight=False)
    return table
