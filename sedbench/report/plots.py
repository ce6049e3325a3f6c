"""PNG plots over the results store, each answering one question a reader asks.

- ``pareto``: what does a point of the metric cost? The metric against a cost on which methods differ
  (training time with the teachers included, deployed parameters, latency). When every method has the
  same value of that cost (they all deploy the same student, so MACs are equal), a front would be one
  vertical column of dots: the plot becomes ``ranked`` and says so.
- ``ranked``: which method scores highest, and how sure is that? Methods sorted by their mean, every
  seed drawn, the mean with its confidence interval over seeds, the reference method's mean as a line.
- ``forest``: by how much does each method differ from its comparison (reference, control, pairwise),
  with the CI of the delta and the Holm-adjusted p.
- ``psd_roc``: the PSD-ROC curves of one seed; ``per_class``: per-class PSDS (or F1) by method.

Labels never overlap because no label is placed inside the data: method names sit on a categorical
axis or in a legend outside the axes, and numbers in a column beside the axes. Figures are built with
matplotlib's object API on the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory
from scipy import stats as sps

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import PSDS_SETTINGS, psds
from sedbench.evaluation.scores import read_run_inputs
from sedbench.report.costs import training_costs
from sedbench.report.tables import lower_is_better, resolve_metric
from sedbench.results import select_comparable

# --x name -> (column, axis label); "train" is computed by sedbench.report.costs (student + teachers)
COST_AXES = {
    "train": ("train_total_s", "training time: student + its teachers"),
    "train_student": ("train_s", "training time of the student alone"),
    "macs": ("macs", "MACs per 10 s clip"),
    "params": ("params", "parameters of the deployed model"),
    "params_all": ("params_all_models", "parameters of everything deployed (all routed students)"),
    "latency": ("latency_cpu_1t_ms", "CPU latency, batch 1, 1 thread (ms)"),
    "latency_all": ("latency_cpu_all_ms", "CPU latency, batch 1, all threads (ms)"),
    "latency_cuda": ("latency_cuda_ms", "CUDA latency, batch 1 (ms)"),
    "energy": ("energy_kwh", "energy of the student's training (kWh, estimate)"),
}
METRIC_LABELS = {
    "psds1": "PSDS1",
    "psds2": "PSDS2",
    "event_f1": "collar-based event F1 (macro)",
    "intersection_f1": "intersection-based F1 (macro)",
    "weak_f1": "clip-level F1 (macro)",
    "weak_map": "clip-level mAP (macro)",
}
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "h", "<", ">", "p", "*"]
SAME_COST_RTOL = 0.01  # costs within 1 % of each other count as one value


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


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-based CI of the mean over seeds; the CI collapses to the mean for one value."""
    x = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=np.float64)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, mean, mean
    half = float(sps.t.ppf(0.5 + confidence / 2, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


def single_valued(values: Sequence[float], rtol: float = SAME_COST_RTOL) -> bool:
    """True when every (finite) value lies within ``rtol`` of the others: an axis without information."""
    x = np.asarray([v for v in values if not pd.isna(v)], dtype=np.float64)
    if len(x) < 2:
        return True
    span, scale = float(x.max() - x.min()), float(np.abs(x).max())
    return span <= rtol * scale


def dodge(x: np.ndarray, log: bool = False, gap: float = 0.012) -> np.ndarray:
    """x positions nudged apart where methods share (almost) one cost, so their error bars do not overlap.

    Points closer than ``gap`` of the axis span form a group, spread symmetrically ``gap`` apart; the
    spread stays within a few per cent of the span, so no point moves enough to change a reading.
    """
    u = np.log10(x) if log else x.astype(np.float64)
    span = float(u.max() - u.min()) or (abs(float(u.max())) or 1.0)
    order = np.argsort(u, kind="stable")
    out = u.copy()
    groups: list[list[int]] = []
    for i in order:
        if groups and u[i] - u[groups[-1][0]] < gap * span:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    for group in groups:
        centre = float(np.mean(u[group]))
        for k, i in enumerate(group):
            out[i] = centre + (k - (len(group) - 1) / 2) * gap * span
    return 10**out if log else out


def cost_axis(cost: str) -> tuple[str, str]:
    """(column, label) of a --x name, or of a raw column name."""
    return COST_AXES.get(cost, (cost, cost))


def _time_unit(seconds: np.ndarray) -> tuple[float, str]:
    top = float(np.nanmax(seconds)) if len(seconds) and np.isfinite(seconds).any() else 0.0
    if top >= 2 * 3600:
        return 3600.0, "h"
    if top >= 120:
        return 60.0, "min"
    return 1.0, "s"


def pareto(
    df: pd.DataFrame,
    out: str | os.PathLike,
    metric: str = "psds1",
    cost: str = "train",
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    teacher_seconds: Mapping[str, float] | None = None,
    reference: str | None = "scratch",
) -> Path:
    """The metric against a cost (mean and 95 % CI over seeds), the non-dominated methods connected.

    ``cost`` is a key of COST_AXES (``train``: the student's training time plus its teachers') or a
    numeric column. When all methods share one value of the cost, the figure is ``ranked`` instead,
    with that shared value in its title: a front over one cost value says nothing.
    """
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metric = resolve_metric(runs, metric)
    cost_col, cost_label = cost_axis(cost)
    if cost_col in ("train_total_s",):
        runs = training_costs(runs, teacher_seconds)
        unknown = sorted(runs.loc[runs["train_total_s"].isna(), "method"].unique())
        if unknown:
            notes.append(f"training cost of {', '.join(unknown)} unknown (a teacher's time is missing): not drawn")
    else:
        cost_col = resolve_metric(runs, cost_col, option="--x")
    g = runs.assign(
        _y=pd.to_numeric(runs[metric], errors="coerce"),
        _x=pd.to_numeric(runs[cost_col], errors="coerce"),
        _xs=pd.to_numeric(runs["train_s"], errors="coerce") if "train_s" in runs else np.nan,
    ).dropna(subset=["_x", "_y"])
    if g.empty:
        raise SedbenchError(f"no completed run has both {metric} and {cost_col}")
    rows = []
    for method, grp in g.groupby("method", sort=True):
        mean, lo, hi = mean_ci(grp["_y"].tolist())
        rows.append(dict(method=method, x=grp["_x"].mean(), x_student=grp["_xs"].mean(), y=mean, lo=lo, hi=hi,
                         n=len(grp)))
    agg = pd.DataFrame(rows)
    shared = fmt_cost(agg["x"].iloc[0], cost_col)
    if single_valued(agg["x"].tolist()):
        what = cost_label.split(" (")[0]
        return ranked(df, out, metric, benchmark, benchmark_hash, reference=reference,
                      subtitle=f"every method has the same {what} ({shared}): ranked by {metric}, no front")
    higher = not lower_is_better(metric)
    agg = agg.sort_values("y", ascending=not higher, kind="stable").reset_index(drop=True)
    is_time = cost_col.endswith("_s")
    scale, unit = _time_unit(agg["x"].to_numpy(dtype=float)) if is_time else (1.0, "")

    log = bool((agg["x"] > 0).all() and agg["x"].max() / agg["x"].min() > 10)
    shown_x = dodge(agg["x"].to_numpy(dtype=float) / scale, log)

    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.subplots()
    colors = _colors(len(agg))
    handles = []
    for k, r in agg.iterrows():
        color, marker = colors[k], MARKERS[k % len(MARKERS)]
        x = shown_x[k]
        if cost_col == "train_total_s" and not pd.isna(r.x_student) and r.x - r.x_student > 1e-9:
            # the teachers' share of the cost: from the student alone (hollow) to the whole cost
            xs = r.x_student / scale
            ax.plot([xs, x], [r.y, r.y], "-", color=color, lw=1, alpha=0.6, zorder=1)
            ax.plot(xs, r.y, marker, mfc="white", mec=color, ms=6, zorder=2)
        ax.errorbar(x, r.y, yerr=[[r.y - r.lo], [r.hi - r.y]], fmt=marker, color=color, ms=7, capsize=3,
                    zorder=3)
        label = f"{r.method}  {_fmt_metric(r.y)}" + ("" if r.n > 1 else " (1 seed)")
        handles.append(Line2D([], [], color=color, marker=marker, ls="", ms=7, label=label))
    front = pareto_front(agg["x"].to_numpy(), agg["y"].to_numpy(), higher)
    front_x = agg["x"].to_numpy()[front] / scale
    # the best value reachable at each cost: a staircase through the non-dominated methods
    ax.step(front_x, agg["y"].to_numpy()[front], where="post", ls="--", color="0.35", lw=1.1, zorder=0)
    handles.append(Line2D([], [], color="0.35", ls="--", label="non-dominated (Pareto front)"))
    if cost_col == "train_total_s" and (agg["x"] - agg["x_student"] > 1e-9).any():
        handles.append(Line2D([], [], color="0.4", marker="o", mfc="white", ls="-", lw=1,
                              label="student alone → with its teachers"))
    if log:
        ax.set_xscale("log")
    xlabel = cost_label + (f" ({unit})" if unit else "")
    ax.set_xlabel(xlabel + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel(f"{_label(metric)}: mean and 95 % CI over seeds")
    bench = runs["benchmark"].iloc[0]
    ax.set_title(f"{_label(metric)} against {cost_label.split(' (')[0]} — {bench}", fontsize=11)
    ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title=f"method  mean {_label(metric)}",
               title_fontsize=8, frameon=False)
    _notes(fig, notes)
    return _save(fig, out)


def ranked(
    df: pd.DataFrame,
    out: str | os.PathLike,
    metric: str = "psds1",
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    reference: str | None = "scratch",
    subtitle: str | None = None,
    confidence: float = 0.95,
) -> Path:
    """Methods ranked by their mean: every seed as a dot, the mean with its CI over seeds.

    The reference method's mean is a dashed line; controls (``is_control``) have grey names.
    """
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metric = resolve_metric(runs, metric)
    values = runs.assign(_v=pd.to_numeric(runs[metric], errors="coerce")).dropna(subset=["_v"])
    if values.empty:
        raise SedbenchError(f"no completed run has a value of {metric}")
    controls = set()
    if "is_control" in values:
        controls = set(values.loc[values["is_control"].eq(True), "method"])
    rows = []
    for method, grp in values.groupby("method", sort=True):
        mean, lo, hi = mean_ci(grp["_v"].tolist(), confidence)
        rows.append(dict(method=method, mean=mean, lo=lo, hi=hi, n=len(grp), seeds=grp["_v"].to_numpy()))
    higher = not lower_is_better(metric)
    agg = pd.DataFrame(rows).sort_values("mean", ascending=higher, kind="stable").reset_index(drop=True)
    n = len(agg)  # best last, so that it is drawn at the top

    fig = Figure(figsize=(8, 1.6 + 0.42 * n), layout="constrained")
    ax = fig.subplots()
    pct = int(round(100 * confidence))
    text_at = blended_transform_factory(ax.transAxes, ax.transData)
    for y, r in agg.iterrows():
        ax.plot(r.seeds, np.full(len(r.seeds), y), "o", ms=4, mfc="none", mec="0.45", mew=0.8, zorder=2)
        color = "0.55" if r.method in controls else "C0"
        ax.errorbar(r["mean"], y, xerr=[[r["mean"] - r.lo], [r.hi - r["mean"]]], fmt="D", color=color, ms=6,
                    capsize=3, lw=1.6, zorder=3)
        ci = f" [{_fmt_col(r.lo)}, {_fmt_col(r.hi)}]" if r.n > 1 else ""
        ax.text(1.02, y, f"{_fmt_col(r['mean'])}{ci}  n={r.n}", transform=text_at, va="center", fontsize=8,
                family="monospace")
    ax.text(1.02, n - 0.1, f" mean   [{pct} % CI]", transform=text_at, va="center", fontsize=8, family="monospace",
            color="0.3")
    ax.set_yticks(range(n))
    ax.set_yticklabels(agg["method"])
    for tick, method in zip(ax.get_yticklabels(), agg["method"], strict=True):
        if method in controls:
            tick.set_color("0.45")
            tick.set_fontstyle("italic")
    ax.set_ylim(-0.6, n + 0.2)  # a band for the column header
    handles = [
        Line2D([], [], marker="o", ls="", mfc="none", mec="0.45", label="one seed"),
        Line2D([], [], marker="D", color="C0", label=f"mean, {pct} % CI over seeds"),
    ]
    if reference is not None and reference in set(agg["method"]):
        ref_mean = float(agg.loc[agg["method"] == reference, "mean"].iloc[0])
        ax.axvline(ref_mean, ls="--", color="0.3", lw=1, zorder=1)
        handles.append(Line2D([], [], ls="--", color="0.3", label=f"{reference} mean"))
    if controls:
        handles.append(Line2D([], [], marker="D", ls="", color="0.55", label="control (grey, italic)"))
    ax.set_xlabel(f"{_label(metric)} ({'higher' if higher else 'lower'} is better)")
    ax.grid(axis="x", alpha=0.3)
    bench = runs["benchmark"].iloc[0]
    title = f"{_label(metric)} by method, ranked — {bench}"
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=10, loc="left")
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    _notes(fig, notes)
    return _save(fig, out)


def psd_roc(runs: Mapping[str, str | os.PathLike], out: str | os.PathLike, metric: str = "psds1") -> Path:
    """PSD-ROC curves (effective TPR vs eFPR per hour) of the given runs, from their stored scores."""
    if metric not in PSDS_SETTINGS:
        raise SedbenchError(f"PSD-ROC curves exist for psds1/psds2, not {metric!r}")
    if not runs:
        raise SedbenchError("no runs to plot; `sedbench run` produces them")
    settings = PSDS_SETTINGS[metric]
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    curves = []
    for label, run_dir in runs.items():
        scores, gt, durations = read_run_inputs(run_dir)
        res = psds(scores, gt, durations, settings)
        curves.append((label, res))
    # the legend lists the curves best first; colours and line styles tell apart up to 40 curves
    curves.sort(key=lambda c: -1.0 if c[1].value is None else -c[1].value)
    styles = ["-", "--", "-.", ":"]
    colors = _colors(len(curves))
    for k, (label, res) in enumerate(curves):
        if res.roc is None:
            ax.plot([], [], color=colors[k], label=f"{label}: no events to score")
            continue
        etpr, efpr = res.roc
        ax.step(efpr, etpr, where="post", color=colors[k], ls=styles[(k // 10) % len(styles)], lw=1.4,
                label=f"{label}  PSDS {res.value:.3f}")
    s = settings
    ct = f", cttc={s.cttc_threshold}, α_ct={s.alpha_ct}" if s.cttc_threshold is not None else ""
    ax.set_title(f"PSD-ROC, {metric.upper()} (dtc={s.dtc_threshold}, gtc={s.gtc_threshold}{ct}, α_st={s.alpha_st})",
                 fontsize=10)
    ax.set_xlabel("effective false positive rate (eFPR, per hour)")
    ax.set_ylabel("effective true positive rate (eTPR)")
    ax.set_xlim(0, s.max_efpr)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=8, frameon=False, title="run (best first)", title_fontsize=8)
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
    max_bars: int = 4,
) -> Path:
    """Per-class PSDS (or F1) by method: mean and std over seeds.

    Up to ``max_bars`` methods: bars grouped by class. More: a methods x classes table of colours with
    the numbers written in (a hundred bars read worse), methods sorted by their mean over classes.
    """
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
    missing = [c for c, col in zip(classes, cols, strict=True) if mean[col].isna().all()]
    ticks = [c.replace("_", " ") + (" *" if c in missing else "") for c in classes]
    label = METRIC_LABELS.get(metric, metric)
    xlabel = "event class" + ("   (* no ground-truth events: not scored)" if missing else "")
    title = f"Per-class {label} by method — {runs['benchmark'].iloc[0]}"
    if len(names) > max_bars:
        return _save(_per_class_heatmap(mean, std, names, ticks, label, xlabel, title), out)
    fig = Figure(figsize=(max(8, 0.3 * len(classes) * len(names) + 3), 5), layout="constrained")
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
            error_kw={"lw": 0.8},
        )
    ax.set_xticks(x)
    ax.set_xticklabels(ticks, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"per-class {label} (mean ± std over seeds)")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0, 1.05)
    ax.set_xlim(-0.5, len(classes) - 0.5)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=8, frameon=False, title="method", title_fontsize=8)
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
    fig.text(  # below the one-row legend: a fixed 0.35 in, whatever the figure's height
        0.5,
        -0.35 / fig.get_figheight(),
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


def _per_class_heatmap(mean: pd.DataFrame, std: pd.DataFrame, names: list[str], ticks: list[str], label: str,
                       xlabel: str, title: str) -> Figure:
    order = mean.mean(axis=1).sort_values(ascending=False, kind="stable").index.tolist()
    m, sd = mean.loc[order].to_numpy(dtype=float), std.loc[order].to_numpy(dtype=float)
    fig = Figure(figsize=(max(7, 0.95 * len(ticks) + 3), 1.8 + 0.45 * len(order)), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(m), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if np.isnan(m[i, j]):
                continue
            text = f"{m[i, j]:.2f}" + ("" if np.isnan(sd[i, j]) else f"\n±{sd[i, j]:.2f}")
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="black" if m[i, j] > 0.6 else "white")
    ax.set_xticks(range(len(ticks)))
    ax.set_xticklabels(ticks, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(order, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_title(title + "\nmean ± std over seeds; methods by their mean over classes", fontsize=10)
    fig.colorbar(image, ax=ax, label=f"per-class {label}", shrink=0.9)
    return fig


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _fmt_metric(v, signed: bool = False) -> str:
    if v is None or pd.isna(v):
        return "–"
    return format(v, "+.3f" if signed else ".3f") if abs(v) < 10 else format(v, "+.1f" if signed else ".1f")


def _fmt_col(v) -> str:
    """A number for a monospace column: the sign's place kept, so that the digits line up."""
    return "   –  " if v is None or pd.isna(v) else format(v, " .3f")


def fmt_cost(v, column: str) -> str:
    if pd.isna(v):
        return "–"
    if column.endswith("_s"):
        scale, unit = _time_unit(np.array([v], dtype=float))
        return f"{v / scale:.3g} {unit}"
    if column.endswith("_ms"):
        return f"{v:.3g} ms"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def _notes(fig: Figure, notes: Sequence[str]) -> None:
    if notes:
        import textwrap

        text = "\n".join(textwrap.fill("note: " + n, 150) for n in notes)
        fig.text(0.0, 0.0, text, fontsize=7, va="top", ha="left", color="0.3")


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
