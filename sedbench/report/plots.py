"""PNG plots over the results store: Pareto front, PSD-ROC curves, per-class PSDS bars, forest plot.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import PSDS_SETTINGS, psds
from sedbench.evaluation.scores import read_run_inputs
from sedbench.report.tables import lower_is_better, resolve_metric
from sedbench.results import select_comparable

COST_AXES = {
    "macs": ("macs", "MACs per 10 s clip"),
    "params": ("params", "parameters of the deployed model"),
    "latency": ("latency_cpu_1t_ms", "CPU latency, batch 1, 1 thread (ms)"),
    "latency_all": ("latency_cpu_all_ms", "CPU latency, batch 1, all threads (ms)"),
    "latency_cuda": ("latency_cuda_ms", "CUDA latency, batch 1 (ms)"),
}
METRIC_LABELS = {
    "psds1": "PSDS1",
    "psds2": "PSDS2",
    "event_f1": "collar-based event F1 (macro)",
    "intersection_f1": "intersection-based F1 (macro)",
    "weak_f1": "clip-level F1 (macro)",
    "weak_map": "clip-level mAP (macro)",
}


def _save(fig: Figure, out: str | os.PathLike) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130, bbox_inches="tight")
    return out


def pareto_front(cost: np.ndarray, value: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Indices of the non-dominated points (lower cost, better value), by increasing cost."""
    sign = 1.0 if higher_is_better else -1.0
    order = np.lexsort((-sign * value, cost))
    front, best = [], -np.inf
    for i in order:
        if sign * value[i] > best:
            front.append(i)
            best = sign * value[i]
    return np.array(front, dtype=int)


def pareto(
    df: pd.DataFrame,
    out: str | os.PathLike,
    metric: str = "psds1",
    cost: str = "macs",
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
) -> Path:
    """Metric against a cost (macs, params, latency...), mean ± std over seeds; the front connected."""
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metric = resolve_metric(runs, metric)
    cost_col, cost_label = COST_AXES.get(cost, (cost, cost))
    cost_col = resolve_metric(runs, cost_col)
    g = runs.assign(
        _y=pd.to_numeric(runs[metric], errors="coerce"), _x=pd.to_numeric(runs[cost_col], errors="coerce")
    )
    g = (
        g.dropna(subset=["_x", "_y"])
        .groupby("method")
        .agg(x=("_x", "mean"), x_std=("_x", "std"), y=("_y", "mean"), y_std=("_y", "std"), n=("_y", "size"))
    )
    if g.empty:
        raise SedbenchError(f"no completed run has both {metric} and {cost_col}")
    higher = not lower_is_better(metric)
    fig = Figure(figsize=(7.5, 5))
    ax = fig.subplots()
    colors = _colors(len(g))
    for (method, r), color in zip(g.iterrows(), colors, strict=False):
        ax.errorbar(
            r.x,
            r.y,
            yerr=_std(r["y_std"]),
            xerr=_std(r["x_std"]),
            fmt="o",
            color=color,
            capsize=3,
            label=f"{method} (n={int(r.n)})",
        )
        ax.annotate(method, (r.x, r.y), textcoords="offset points", xytext=(6, 5), fontsize=8)
    front = pareto_front(g["x"].to_numpy(), g["y"].to_numpy(), higher)
    ax.plot(
        g["x"].to_numpy()[front],
        g["y"].to_numpy()[front],
        "--",
        color="0.3",
        lw=1.2,
        zorder=0,
        label="Pareto front (non-dominated)",
    )
    xs = g["x"].to_numpy()
    if (xs > 0).all() and xs.max() / xs.min() > 10:
        ax.set_xscale("log")
    ax.set_xlabel(cost_label + (" (log scale)" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel(f"{METRIC_LABELS.get(metric, metric)} (mean ± std over seeds)")
    bench = runs["benchmark"].iloc[0]
    ax.set_title(f"{METRIC_LABELS.get(metric, metric)} vs {cost_label.split(' (')[0]} — {bench}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if notes:
        fig.text(0.01, -0.02, "; ".join(notes), fontsize=7, va="top")
    return _save(fig, out)


def psd_roc(runs: Mapping[str, str | os.PathLike], out: str | os.PathLike, metric: str = "psds1") -> Path:
    """PSD-ROC curves (effective TPR vs eFPR per hour) of the given runs, from their stored scores."""
    if metric not in PSDS_SETTINGS:
        raise SedbenchError(f"PSD-ROC curves exist for psds1/psds2, not {metric!r}")
    if not runs:
        raise SedbenchError("no runs to plot; `sedbench run` produces them")
    settings = PSDS_SETTINGS[metric]
    fig = Figure(figsize=(7.5, 5))
    ax = fig.subplots()
    for (label, run_dir), color in zip(runs.items(), _colors(len(runs)), strict=False):
        scores, gt, durations = read_run_inputs(run_dir)
        res = psds(scores, gt, durations, settings)
        if res.roc is None:
            continue
        etpr, efpr = res.roc
        ax.step(efpr, etpr, where="post", color=color, label=f"{label} (PSDS {res.value:.3f})")
    s = settings
    ct = f", cttc={s.cttc_threshold}, α_ct={s.alpha_ct}" if s.cttc_threshold is not None else ""
    ax.set_title(
        f"PSD-ROC, {metric.upper()} (dtc={s.dtc_threshold}, gtc={s.gtc_threshold}{ct}, α_st={s.alpha_st})"
    )
    ax.set_xlabel("effective false positive rate (eFPR, per hour)")
    ax.set_ylabel("effective true positive rate (eTPR)")
    ax.set_xlim(0, s.max_efpr)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out)


def runs_for_seed(
    df: pd.DataFrame,
    methods: Sequence[str] | None = None,
    seed: int | None = None,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
) -> dict[str, str]:
    """Method -> run folder of one seed (given, or the smallest seed every chosen method has)."""
    runs, _ = select_comparable(df, benchmark, benchmark_hash)
    names = list(methods) if methods else sorted(runs["method"].unique())
    unknown = sorted(set(names) - set(runs["method"]))
    if unknown:
        raise SedbenchError(f"no completed runs for method(s) {', '.join(unknown)}")
    seeds = [set(runs.loc[runs["method"] == m, "seed"].astype(int)) for m in names]
    if seed is None:
        common = set.intersection(*seeds)
        if not common:
            raise SedbenchError("the chosen methods share no seed; pick one with --seed")
        seed = min(common)
    elif not all(seed in s for s in seeds):
        raise SedbenchError(f"seed {seed} is missing for some of {', '.join(names)}")
    sel = runs[runs["seed"].astype(int) == seed]
    return {f"{m} (seed {seed})": str(sel.loc[sel["method"] == m, "run_dir"].iloc[0]) for m in names}


def per_class(
    df: pd.DataFrame,
    out: str | os.PathLike,
    metric: str = "psds1",
    methods: Sequence[str] | None = None,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
) -> Path:
    """Per-class PSDS (or F1) bars grouped by class, one bar per method, error bars = std over seeds."""
    runs, _ = select_comparable(df, benchmark, benchmark_hash)
    prefix = f"per_class_{metric}."
    cols = [c for c in runs.columns if c.startswith(prefix)]
    if not cols:
        raise SedbenchError(f"the records hold no per-class values for {metric}; try psds1 or psds2")
    if methods:
        unknown = sorted(set(methods) - set(runs["method"]))
        if unknown:
            raise SedbenchError(f"no completed runs for method(s) {', '.join(unknown)}")
        runs = runs[runs["method"].isin(methods)]
    names = list(methods) if methods else sorted(runs["method"].unique())
    classes = [c[len(prefix) :] for c in cols]
    data = runs[["method", *cols]].copy()
    data[cols] = data[cols].apply(pd.to_numeric, errors="coerce")
    mean = data.groupby("method")[cols].mean().reindex(names)
    std = data.groupby("method")[cols].std().reindex(names)
    fig = Figure(figsize=(max(8, 0.9 * len(classes) * max(1, len(names)) / 2.5), 5))
    ax = fig.subplots()
    width = 0.8 / len(names)
    x = np.arange(len(classes))
    for k, (method, color) in enumerate(zip(names, _colors(len(names)), strict=False)):
        ax.bar(
            x + (k - (len(names) - 1) / 2) * width,
            mean.loc[method].to_numpy(),
            width,
            yerr=std.loc[method].fillna(0).to_numpy(),
            capsize=2,
            color=color,
            label=method,
        )
    ax.set_xticks(x)
    ax.set_xticklabels([c.replace("_", " ") for c in classes], rotation=30, ha="right", fontsize=8)
    label = METRIC_LABELS.get(metric, metric)
    ax.set_ylabel(f"per-class {label} (mean ± std over seeds)")
    ax.set_xlabel("event class")
    ax.set_title(f"Per-class {label} by method — {runs['benchmark'].iloc[0]}")
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize=8, ncol=min(6, len(names)), loc="upper center", bbox_to_anchor=(0.5, -0.22), title="method"
    )
    return _save(fig, out)


def forest(
    long: pd.DataFrame, out: str | os.PathLike, title: str | None = None, family_note: str | None = None
) -> Path:
    """Forest plot of the compared differences (``report.tables.comparison_family`` rows): one row per
    comparison, the mean paired delta with its CI, Holm-adjusted p written beside it; a panel per metric.

    Filled dark markers: adjusted p < alpha; hollow: no evidence at the seeds used; crosses: too few
    seeds for a test (no CI, no p). ``family_note`` replaces the footer's "Holm over the N comparisons
    shown" when the plot shows part of a larger family (e.g. one metric of several tables).
    """
    if long.empty:
        raise SedbenchError("nothing to plot: no comparisons (does the reference or control have runs?)")
    a = long.attrs
    alpha = a.get("alpha", 0.05)
    pct = int(round(100 * a.get("confidence", 0.95)))
    metrics = list(dict.fromkeys(long["metric"]))
    heights = [max(1, int((long["metric"] == m).sum())) for m in metrics]
    fig = Figure(figsize=(8.5, 1.1 + 0.34 * sum(heights) + 0.9 * len(metrics)))
    axes = fig.subplots(len(metrics), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    styles = {
        "sig": dict(fmt="o", color="#1f4e99", mfc="#1f4e99", ms=6, label=f"Holm-adjusted p < {alpha}"),
        "ns": dict(fmt="o", color="0.45", mfc="white", ms=6, label="no evidence at these seeds (n.s.)"),
        "none": dict(fmt="x", color="0.6", ms=6, label="fewer than 2 seeds: no test, no CI"),
    }
    used = set()
    for ax, metric in zip(axes, metrics, strict=True):
        rows = long[long["metric"] == metric].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        for yi, r in zip(y, rows.to_dict("records"), strict=True):
            has_ci = not pd.isna(r["ci_low"])
            kind = "none" if pd.isna(r["p"]) else "sig" if r["p_adj"] < alpha else "ns"
            style = dict(styles[kind])
            label = style.pop("label")
            label = label if kind not in used else None
            used.add(kind)
            err = [[r["delta"] - r["ci_low"]], [r["ci_high"] - r["delta"]]] if has_ci else None
            ax.errorbar(r["delta"], yi, xerr=err, capsize=3, elinewidth=1.4, label=label, **style)
            ci_text = f" [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if has_ci else ""
            p_text = "no test" if pd.isna(r["p"]) else f"p_adj {_p_text(r['p_adj'])}"
            ax.text(
                1.02,
                yi,
                f"{r['delta']:+.3f}{ci_text}  {p_text}  n={int(r['n_pairs'])}",
                transform=ax.get_yaxis_transform(),
                va="center",
                ha="left",
                fontsize=8,
                family="monospace",
            )
        ax.axvline(0, color="0.2", lw=0.9, ls="--", zorder=0)
        ax.set_yticks(y)
        ax.set_yticklabels([_forest_label(r) for r in rows.to_dict("records")], fontsize=9)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        better = "lower" if lower_is_better(metric) else "higher"
        ax.set_xlabel(f"Δ {METRIC_LABELS.get(metric, metric)} (method − baseline; {better} is better)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        lo = np.nanmin(np.r_[rows["ci_low"].astype(float), rows["delta"].astype(float), 0.0])
        hi = np.nanmax(np.r_[rows["ci_high"].astype(float), rows["delta"].astype(float), 0.0])
        pad = 0.08 * (hi - lo) if hi > lo else 0.01
        ax.set_xlim(lo - pad, hi + pad)
    ci_methods = ", ".join(sorted(set(long["ci_method"].dropna()))) or "none"
    fig.suptitle(
        title or f"{a.get('benchmark', '')}: paired differences over seeds, {pct}% CI ({ci_methods})",
        fontsize=10,
    )
    found = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(lab, h)
    labels = [s["label"] for s in styles.values() if s["label"] in found]  # always in the same order
    handles = [found[lab] for lab in labels]
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(3, len(labels)),
        fontsize=8,
        frameon=False,
    )
    fig.text(
        0.5,
        -0.05,
        family_note
        or f"p_adj: paired t-test over seeds, Holm over the {a.get('family_size', len(long))} comparisons shown",
        ha="center",
        va="top",
        fontsize=8,
    )
    fig.tight_layout()
    return _save(fig, out)


def _forest_label(r: dict) -> str:
    if r.get("kind") == "control":
        return f"{r['method']} − {r['baseline']} (its control)"
    return f"{r['method']} − {r['baseline']}"


def _p_text(p) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _std(v) -> float:
    return 0.0 if pd.isna(v) else float(v)


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
