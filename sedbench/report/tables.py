"""The comparison table: one row per method, against a reference method (and/or each method's
control), with the seed-level tests of sedbench.stats; and the pairwise view.

``comparison_table`` returns raw numbers (a DataFrame; notes, verdicts and settings in ``.attrs``);
``render`` turns it into rich text, markdown, LaTeX, CSV or JSON. CSV and JSON carry full-precision
numbers. ``pairwise_table`` + ``render_pairwise``: every pair of methods, as matrices.
"""

from __future__ import annotations

import difflib
import io
import json
import math
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table

from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import PSDS_SETTINGS
from sedbench.results import CONTENDED_WALL_TO_CPU, load, rerun_command, select_comparable
from sedbench.stats import (
    ALPHA,
    MIN_PAIRS,
    MIN_WILCOXON,
    N_RESAMPLES,
    POWER,
    Comparison,
    compare,
    mde,
    p_floor,
    summarize,
)

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


def resolve_metric(df: pd.DataFrame, metric: str, option: str = "--metric") -> str:
    """The results' column ``metric`` names (an alias or the column itself); ``option`` is what the user
    wrote it in, for the error when there is none."""
    name = ALIASES.get(metric, metric)
    if name not in df.columns or not pd.api.types.is_numeric_dtype(pd.to_numeric(df[name], errors="coerce")):
        numeric = [c for c in df.columns
                   if c not in BOOKKEEPING and pd.to_numeric(df[c], errors="coerce").notna().any()]
        # the full list (per-class, validation and complexity detail columns) would bury the headline ones
        headline = [c for c in numeric if c in HEADLINE]
        close = difflib.get_close_matches(name, numeric, n=1)
        raise SedbenchError(
            f"{option} {metric}: no such column in the results"
            + (f" (did you mean {close[0]}?)" if close else "")
            + f"; choose from {', '.join(headline)} or one of {len(numeric) - len(headline)} more columns "
            "(val_*, per_class_*.<class>, complexity detail: `sedbench table --format csv` lists them)"
        )
    return name


def resolve_metrics(df: pd.DataFrame, metrics: str | Sequence[str]) -> list[str]:
    """Each asked metric resolved once: one named twice, or by an alias, is one table and one set of
    tests in Holm, not two."""
    return list(dict.fromkeys(resolve_metric(df, m) for m in parse_metrics(metrics)))


# numeric columns of a run record that describe how it ran, not what it scored or cost
BOOKKEEPING = ("seed", "is_control", "teacher_seed", "threads", "profile_teacher")
HEADLINE = ("psds1", "psds2", "intersection_f1", "event_f1", "weak_map", "weak_f1", *COST_COLUMNS,
            "latency_cpu_all_ms", "energy_kwh")


AGAINST = ("reference", "control")


def parse_metrics(metric: str | Sequence[str]) -> list[str]:
    items = metric.split(",") if isinstance(metric, str) else list(metric)
    return [m.strip() for m in items if m.strip()]


def parse_against(against: str | Sequence[str]) -> tuple[str, ...]:
    items = tuple(parse_metrics(against))
    bad = [a for a in items if a not in AGAINST]
    if bad or not items:
        raise SedbenchError(f"--against {','.join(items)}: choose reference, control or reference,control")
    return items


def controls_of(runs: pd.DataFrame) -> dict[str, str]:
    """Method -> the control that isolates its mechanism, from the records' ``control`` column."""
    if "control" not in runs:
        return {}
    out = {}
    for method, g in runs.groupby("method"):
        names = [c for c in g["control"] if isinstance(c, str) and c.strip()]
        if names:
            out[method] = names[0]
    return out


def table_comparisons(
    runs: pd.DataFrame,
    metrics: Sequence[str],
    reference: str = "scratch",
    against: Sequence[str] = ("reference",),
    pairwise: bool = False,
    notes: list[str] | None = None,
    **options,
) -> pd.DataFrame:
    """Every comparison a table (or plot) of these metrics shows, tested together (one Holm family).

    ``against``: reference (each method vs ``reference``) and/or control (each method vs its own
    control). ``pairwise``: every pair of methods instead. ``options`` go to ``sedbench.stats.compare``.
    """
    notes = notes if notes is not None else []
    methods = sorted(runs["method"].unique())
    comparisons: list[Comparison] = []
    same_as_reference: set[str] = set()
    for metric in metrics:
        if pairwise:
            order = _by_mean(runs, metric)
            comparisons += [Comparison(metric, a, b, "pairwise") for i, a in enumerate(order) for b in order[i + 1 :]]
            continue
        if "reference" in against:
            if reference in methods:
                comparisons += [Comparison(metric, m, reference, "reference") for m in methods if m != reference]
            else:
                notes.append(
                    f"reference method {reference!r} has no completed runs: no deltas or tests "
                    "(`sedbench table --reference NAME` compares against another)"
                )
        if "control" in against:
            controls = controls_of(runs)
            if "control" not in runs:
                notes.append("these records carry no `control` column (older runs): no control comparisons")
            for m in methods:
                c = controls.get(m)
                if c and c in methods and "reference" in against and c == reference:
                    # the same test as "vs reference": counted once in Holm, shown in both columns
                    same_as_reference.add(m)
                elif c and c in methods and "reference" in against and m == reference:
                    # the reference's own control test is "c vs reference" reversed: counted once
                    notes.append(f"{m} (the reference) vs its control {c} is the comparison {c} vs {m}, "
                                 "reversed: made and counted in Holm once")
                elif c and c in methods:
                    comparisons.append(Comparison(metric, m, c, "control"))
                elif c:
                    notes.append(f"{m}'s control {c} has no completed runs: `{rerun_command(runs, f'--methods {c}')}`")
    out = compare(runs, comparisons, higher_is_better=lambda m: not lower_is_better(m), **options)
    notes += out.attrs.get("notes", [])
    if same_as_reference:
        notes.append(f"{', '.join(sorted(same_as_reference))}: the control is the reference ({reference}), so "
                     "the comparison is made and counted in Holm once")
    out.attrs["notes"] = list(dict.fromkeys(notes))  # the per-metric loop says a missing control once per metric
    out.attrs["metrics"] = list(metrics)
    out.attrs["pairwise"] = pairwise
    out.attrs["control_is_reference"] = sorted(same_as_reference)
    return out


def comparison_tables(
    df: pd.DataFrame,
    metrics: str | Sequence[str] = "psds1",
    reference: str = "scratch",
    *,
    against: str | Sequence[str] = ("reference",),
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    ci: str = "auto",
    clip_bootstrap: bool = False,
    bootstrap: bool | None = None,
    n_resamples: int = N_RESAMPLES,
    sort: str | None = None,
    confidence: float = 0.95,
    alpha: float = ALPHA,
    power: float = POWER,
    effect: float | None = None,
    family: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """One ``comparison_table`` per metric, their comparisons Holm-adjusted as one family.

    ``family``: the comparisons already computed by ``comparison_family`` with the same arguments (so
    a plot and the tables share one computation and the same adjusted p-values).
    """
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metrics = resolve_metrics(runs, metrics)
    against = parse_against(against)
    clip = bool(clip_bootstrap or bootstrap)
    if clip and not any(m in PSDS_SETTINGS for m in metrics):
        notes.append(f"the clip-level bootstrap covers psds1/psds2, not {', '.join(metrics)}")
    if family is not None:
        long = family
        notes = []  # the family's notes already hold select_comparable's
        fa = family.attrs
        n_resamples, alpha, power = fa["n_resamples"], fa["alpha"], fa["power"]
        confidence, effect = fa["confidence"], fa.get("effect", effect)
    else:
        long = table_comparisons(
            runs,
            metrics,
            reference,
            against,
            ci=ci,
            clip=clip,
            n_resamples=n_resamples,
            confidence=confidence,
            alpha=alpha,
            power=power,
            effect=effect,
        )
    notes = notes + long.attrs["notes"] + deployment_notes(runs)
    tables = []
    for metric in metrics:
        table = _wide(runs, long[long["metric"] == metric], metric, reference, confidence)
        table = _sort(table, sort or "mean", metric)
        table.attrs.update(
            metric=metric,
            reference=reference,
            against=list(against),
            benchmark=str(runs["benchmark"].iloc[0]),
            benchmark_hash=str(runs["benchmark_hash"].iloc[0]),
            confidence=confidence,
            higher_is_better=not lower_is_better(metric),
            n_runs=int((runs["method"].notna()).sum()),
            alpha=alpha,
            power=power,
            n_resamples=n_resamples,
            family_size=long.attrs["family_size"],
            effect=effect,
            ci=ci,
        )
        table.attrs["notes"] = list(dict.fromkeys(notes + _explain(table, long, metrics, clip,
                                                                   rerun_command(runs, "--seeds 3"))))
        table.attrs["verdicts"] = list(dict.fromkeys(  # a control that is the reference: one sentence
            v for col in ("verdict", "ctrl_verdict") if col in table for v in table[col] if isinstance(v, str)
        ))
        tables.append(table)
    return tables


def comparison_table(
    df: pd.DataFrame,
    metric: str = "psds1",
    reference: str = "scratch",
    **kwargs,
) -> pd.DataFrame:
    """Per method: mean/std/CI over seeds; delta vs ``reference`` (and/or each method's control, with
    ``against``) paired by seed, with its CI (hierarchical bootstrap from the score files, else the
    paired t interval), paired t p raw and Holm-adjusted over every comparison shown, the minimum
    detectable effect, the seeds the observed delta would need, a verdict sentence; costs.

    ``df`` is ``sedbench.results.load(...)``; only the completed runs of one (benchmark, hash) group
    are used (see ``select_comparable``). ``clip_bootstrap`` (PSDS metrics only) adds the clip-level
    bootstrap of the same checkpoint pairs (``clip_*``: eval-set uncertainty, not a method test).
    Several metrics (a comma list) are one Holm family: use ``comparison_tables`` to get them all.
    """
    tables = comparison_tables(df, metric, reference, **kwargs)
    if len(tables) > 1:
        raise SedbenchError("comparison_table takes one metric; comparison_tables takes several")
    return tables[0]


REF_COLUMNS = {  # compare() column -> wide column, vs the reference (names kept from the first tables)
    "delta": "delta",
    "ci_low": "delta_ci_low",
    "ci_high": "delta_ci_high",
    "ci_method": "ci_method",
    "n_pairs": "n_pairs",
    "sd_diff": "sd_diff",
    "p": "p",
    "p_adj": "p_holm",
    "p_wilcoxon": "p_wilcoxon",
    "p_wilcoxon_adj": "p_wilcoxon_holm",
    "mde": "mde",
    "seeds_needed": "seeds_needed",
    "clip_delta": "clip_delta",
    "clip_ci_low": "clip_ci_low",
    "clip_ci_high": "clip_ci_high",
    "clip_p": "clip_p",
    "clip_p_adj": "clip_p_holm",
    "verdict": "verdict",
}
CTRL_COLUMNS = {
    "baseline": "control",
    "delta": "ctrl_delta",
    "ci_low": "ctrl_ci_low",
    "ci_high": "ctrl_ci_high",
    "ci_method": "ctrl_ci_method",
    "n_pairs": "ctrl_n_pairs",
    "p": "ctrl_p",
    "p_adj": "ctrl_p_holm",
    "mde": "ctrl_mde",
    "seeds_needed": "ctrl_seeds_needed",
    "verdict": "ctrl_verdict",
}


def _wide(runs: pd.DataFrame, long: pd.DataFrame, metric: str, reference: str, confidence: float) -> pd.DataFrame:
    values = runs.assign(_v=pd.to_numeric(runs[metric], errors="coerce"))
    ref_rows = {r["method"]: r for r in long[long["kind"] == "reference"].to_dict("records")}
    ctrl_rows = {r["method"]: r for r in long[long["kind"] == "control"].to_dict("records")}
    clip = long["clip_p"].notna().any() or long["clip_delta"].notna().any()
    rows = []
    for method, g in values.groupby("method", sort=True):
        s = summarize(list(g["_v"]), confidence)
        row = {"method": method, "n": s.n, "mean": s.mean, "std": s.std, "ci_low": s.ci_low, "ci_high": s.ci_high}
        if "is_control" in g:
            row["is_control"] = bool(g["is_control"].fillna(False).astype(bool).any())
        r = ref_rows.get(method)
        for src, dst in REF_COLUMNS.items():
            row[dst] = r[src] if r is not None else None
        row["sig"] = _sig(row["p_holm"], long.attrs.get("alpha", ALPHA))
        row["note"] = "reference" if method == reference else (r["note"] if r is not None else "")
        same = long.attrs.get("control_is_reference", [])
        if ctrl_rows or same:
            c = r if method in same else ctrl_rows.get(method)
            for src, dst in CTRL_COLUMNS.items():
                row[dst] = c[src] if c is not None else None
        for col in COST_COLUMNS:
            row[col] = pd.to_numeric(g[col], errors="coerce").mean() if col in g else None
        if "latency_cpu_1t_wall_ms" in g and g["latency_cpu_1t_wall_ms"].notna().any():  # timed on a busy core
            row["latency_cpu_1t_wall_ms"] = pd.to_numeric(g["latency_cpu_1t_wall_ms"], errors="coerce").mean()
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("n_pairs", "seeds_needed", "ctrl_n_pairs", "ctrl_seeds_needed"):
        if col in table:
            table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    order = ["method", "n", "mean", "std", "ci_low", "ci_high"]
    order += ["delta", "delta_ci_low", "delta_ci_high", "ci_method", "n_pairs", "sd_diff", "p", "p_holm", "sig"]
    order += ["p_wilcoxon", "p_wilcoxon_holm", "mde", "seeds_needed"]
    if ctrl_rows or long.attrs.get("control_is_reference"):
        order += list(CTRL_COLUMNS.values())
    if clip:
        order += ["clip_delta", "clip_ci_low", "clip_ci_high", "clip_p", "clip_p_holm"]
    order += COST_COLUMNS + ["latency_cpu_1t_wall_ms", "verdict", "note"]
    if "is_control" in table:
        order.insert(1, "is_control")
    return table[[c for c in order if c in table]]


def deployment_notes(runs: pd.DataFrame) -> list[str]:
    """What the cost columns hold for a method that is not one student trained by its own run: one that
    deploys another method's trained network (``Method.trains_as``: its Train time is that run's), and
    one that deploys several students (its costs are totals, ``runner.deployed_total``)."""
    notes = []
    if "lender_method" in runs:
        for method, g in runs[runs["lender_method"].notna()].groupby("method"):
            lender = ", ".join(sorted(set(g["lender_method"])))
            notes.append(f"{method} deploys {lender}'s trained network of each seed and trains nothing itself: "
                         f"its Train time is {lender}'s")
    if "n_models" in runs:
        n_models = pd.to_numeric(runs["n_models"], errors="coerce").fillna(1)
        for method, g in n_models[n_models > 1].groupby(runs["method"]):
            n = int(g.max())
            notes.append(f"{method} deploys {n} students: its Params, MACs and latency are totals over the {n} "
                         f"(what a deployment ships, and runs without its router); routed, one student runs "
                         f"per clip, 1/{n} of its MACs and latency")
    return notes


def _explain(table: pd.DataFrame, long: pd.DataFrame, metrics: Sequence[str], clip: bool, more_seeds: str
             ) -> list[str]:
    """The lines under a table: the test, the family, the CI, power, what is missing and why."""
    a = table.attrs
    alpha, power, pct = a["alpha"], a["power"], int(round(100 * a["confidence"]))
    notes = []
    shown = long[long["p"].notna()]
    kinds = sorted(set(long["kind"]))
    if len(long):
        family = f"{a['family_size']} comparison(s): " + " + ".join(
            f"{int((shown['kind'] == k).sum())} vs {k}" for k in kinds
        )
        if len(metrics) > 1:
            family += f", over {len(metrics)} metrics ({', '.join(metrics)})"
        notes.append(
            f"test: paired t over seeds (two-sided), Wilcoxon signed-rank as well from {MIN_WILCOXON} seeds; "
            f"p raw, p_adj Holm over the {family}; an adjusted p < {alpha} is a finding, no stars"
        )
    here = long[long["metric"] == a["metric"]]
    methods_ci = set(here["ci_method"].dropna())
    if "hierarchical bootstrap" in methods_ci:
        notes.append(
            f"Δ {pct}% CI: hierarchical bootstrap ({a['n_resamples']:,} resamples of seeds, then of eval clips, "
            "the same clips for every seed), standard error with Student t on n-1 df; it covers training "
            "randomness and the eval-set draw, per comparison (not multiplicity-adjusted)"
            + (" (rows without score files: paired t interval)" if "t over seeds" in methods_ci else "")
        )
    elif methods_ci:
        if a["metric"] not in PSDS_SETTINGS:
            why = f"{a['metric']} is not a PSDS metric, so there are no clip statistics to resample"
        else:
            why = "--ci t" if a.get("ci") == "t" else "no run has score files on one shared set of clips"
        notes.append(
            f"Δ {pct}% CI: paired t interval over seeds ({why}); it covers training randomness only, per "
            "comparison (not multiplicity-adjusted)"
        )
    ns = sorted({int(n) for n in here["n_pairs"].dropna() if int(n) >= MIN_PAIRS})
    shows_power = "reference" in a.get("against", ["reference"])  # the MDE columns sit with the reference's
    if ns:
        n = max(ns)
        factor = mde(1.0, n, alpha, power)
        sds = here.loc[here["n_pairs"] == n, "sd_diff"].dropna()
        example = ""
        if len(sds):
            med = float(np.median(sds))
            example = (
                f"; median sd here {_fmt_metric(med, a['metric'])}, so MDE ≈ {_fmt_metric(factor * med, a['metric'])}"
            )
        notes.append(
            f"power: at {n} seeds the paired t-test (α {alpha}, two-sided) detects with {int(100 * power)} % "
            f"power a mean difference of {factor:.2f} x the sd of the paired differences{example}"
            + (" (column MDE)" if shows_power else "")
            + f". 'n.s.' means no evidence at {n} seeds, not 'equal'. "
            + (("'seeds for Δ': seed pairs needed to detect " if shows_power else "Seed pairs needed to detect ")
               + (f"a difference of {a['effect']}" if a.get("effect") is not None else "the observed Δ")
               + f" at {int(100 * power)} % power" + ("" if shows_power else ": --format csv or json"))
        )
    flat = here[here["note"].fillna("").str.contains("sign-flip")] if "note" in here else here.iloc[:0]
    if len(flat):
        pairs = ", ".join(sorted(f"{m} vs {b}" for m, b in zip(flat["method"], flat["baseline"], strict=True)))
        notes.append(
            f"{pairs}: the same difference on every seed, so the t statistic is undefined; p is the exact "
            "sign-flip test over seeds (2 / 2^n), not the limit 0"
        )
    gaps = [(r["method"], r["baseline"], part) for r in here.to_dict("records")
             for part in str(r.get("note") or "").split("; ") if part.startswith(("no value", "not paired"))]
    if gaps:
        notes.append("seeds a comparison leaves out (its mean ± std above may count them): "
                     + "; ".join(f"{m} vs {b}: {part}" for m, b, part in gaps))
    # rows that share seeds but lack the metric on them are said above, not here
    few = here[here["n_common"].fillna(0).astype(int) < MIN_PAIRS]
    if len(few):
        notes.append(
            f"{', '.join(sorted(set(few['method'])))}: fewer than {MIN_PAIRS} seeds in common with the baseline, "
            "so no method-level p-value (a paired test over seeds needs >= 2 seeds of each); the clip bootstrap "
            f"does not stand in for it. `{more_seeds}` adds seeds"
        )
    if "latency_cpu_1t_wall_ms" in table:
        busy = table[table["latency_cpu_1t_wall_ms"].notna()]
        who = "every method" if len(busy) == len(table) else ", ".join(busy["method"])
        walls = sorted({f"{v:.2f}" for v in busy["latency_cpu_1t_wall_ms"]})
        notes.append(
            f"CPU latency of {who}: timed while other work shared the core (wall median {', '.join(walls)} ms, over "
            f"{CONTENDED_WALL_TO_CPU:g}x the process's CPU time), so the column shows the CPU time, which leaves out "
            "the waiting (not the slower caches of a shared core); `sedbench profile RUN_DIR` times a run's student "
            "again"
        )
    if clip and "clip_delta" in table:
        notes.append(
            f"eval-set Δ (these checkpoints): clip-level paired bootstrap of the same trained models "
            f"({a['n_resamples']:,} resamples, p floor {p_floor(a['n_resamples']):.1g}, Holm within its own "
            "family); it says how sure we are about these particular checkpoints on clips like these, "
            "not whether the method trains better students"
        )
    return notes


def _by_mean(runs: pd.DataFrame, metric: str) -> list[str]:
    means = pd.to_numeric(runs[metric], errors="coerce").groupby(runs["method"]).mean()
    return list(means.sort_values(ascending=lower_is_better(metric), kind="stable").index)


def comparison_family(
    df: pd.DataFrame,
    metrics: str | Sequence[str] = "psds1",
    reference: str = "scratch",
    *,
    against: str | Sequence[str] = ("reference",),
    pairwise: bool = False,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    **options,
) -> pd.DataFrame:
    """The comparisons a table or plot shows, one row each (``sedbench.stats.compare``), one Holm family:
    what ``plots.forest`` draws."""
    if pairwise:
        return pairwise_table(df, metrics, benchmark=benchmark, benchmark_hash=benchmark_hash, **options)
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metrics = resolve_metrics(runs, metrics)
    long = table_comparisons(runs, metrics, reference, parse_against(against), notes=notes, **options)
    long.attrs.update(benchmark=str(runs["benchmark"].iloc[0]), benchmark_hash=str(runs["benchmark_hash"].iloc[0]))
    return long


def pairwise_table(
    df: pd.DataFrame,
    metrics: str | Sequence[str] = "psds1",
    *,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    ci: str = "auto",
    n_resamples: int = N_RESAMPLES,
    confidence: float = 0.95,
    alpha: float = ALPHA,
    power: float = POWER,
    effect: float | None = None,
) -> pd.DataFrame:
    """Every pair of methods (``sedbench.stats.compare`` rows, kind "pairwise"), Holm over all pairs and
    metrics; ``pairwise_matrix`` turns it into method x method deltas with adjusted p."""
    runs, notes = select_comparable(df, benchmark, benchmark_hash)
    metrics = resolve_metrics(runs, metrics)
    long = table_comparisons(
        runs,
        metrics,
        pairwise=True,
        notes=notes,
        ci=ci,
        n_resamples=n_resamples,
        confidence=confidence,
        alpha=alpha,
        power=power,
        effect=effect,
    )
    long.attrs.update(
        benchmark=str(runs["benchmark"].iloc[0]),
        benchmark_hash=str(runs["benchmark_hash"].iloc[0]),
        order={m: _by_mean(runs, m) for m in metrics},
        means={m: pd.to_numeric(runs[m], errors="coerce").groupby(runs["method"]).mean().to_dict() for m in metrics},
    )
    n_pairs = sorted({int(n) for n in long["n_pairs"].dropna()})
    long.attrs["notes"] = long.attrs["notes"] + [
        f"cell: mean paired Δ (row − column) over common seeds, then Holm-adjusted p of the paired t-test over all "
        f"{long.attrs['family_size']} pairs{' and metrics' if len(metrics) > 1 else ''}; '–': fewer than "
        f"{MIN_PAIRS} common seeds (seeds per pair: {', '.join(map(str, n_pairs)) or 'none'})",
        "CIs, raw p, MDE and verdicts per pair: --format csv or json; `sedbench plot forest --pairwise` draws them. "
        "A p_adj >= alpha means no evidence at these seeds, not equality",
    ]
    return long


def pairwise_matrix(long: pd.DataFrame, metric: str | None = None, value: str = "delta") -> pd.DataFrame:
    """Method x method matrix of ``value`` (row minus column for deltas; p values symmetric)."""
    metric = metric or long.attrs["metrics"][0]
    order = long.attrs.get("order", {}).get(metric) or sorted(set(long["method"]) | set(long["baseline"]))
    m = pd.DataFrame(np.nan, index=order, columns=order, dtype=float)
    for r in long[long["metric"] == metric].to_dict("records"):
        v = r[value]
        if _missing(v):
            continue
        m.loc[r["method"], r["baseline"]] = v
        m.loc[r["baseline"], r["method"]] = -v if value == "delta" else v
    return m


def render_pairwise(long: pd.DataFrame, fmt: str = "rich") -> str:
    """The pairwise comparisons as matrices (rich, markdown, latex) or long rows (csv, json)."""
    if fmt == "csv":
        return long.to_csv(index=False)
    if fmt == "json":
        rows = [{k: (None if _missing(v) else _plain(v)) for k, v in r.items()} for r in long.to_dict("records")]
        meta = {k: _plain(v) for k, v in long.attrs.items()}
        return json.dumps({**meta, "rows": rows}, indent=2, default=str)
    if fmt not in FORMATS:
        raise SedbenchError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    out = []
    for metric in long.attrs["metrics"]:
        head, body = pairwise_cells(long, metric)
        title = f"{long.attrs.get('benchmark', '')}: {metric}, pairwise Δ (row − column), p_adj (Holm)"
        if fmt == "rich":
            t = Table(title=_rich_escape(title))
            for i, h in enumerate(head):
                t.add_column(_rich_escape(h), justify="left" if i == 0 else "right")
            for r in body:
                t.add_row(*[_rich_escape(c) for c in r])
            buf = io.StringIO()
            Console(file=buf, width=max(120, 22 * len(head)), color_system=None).print(t)
            out.append(buf.getvalue())
        elif fmt == "markdown":
            lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            out.append("\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n")
        else:
            lines = [r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}", r"\toprule"]
            lines += [" & ".join(_latex_escape(h) for h in head) + r" \\", r"\midrule"]
            lines += [" & ".join(_latex_escape(c) for c in r) + r" \\" for r in body]
            out.append("\n".join(lines + [r"\bottomrule", r"\end{tabular}"]) + "\n")
    notes = long.attrs.get("notes", [])
    prefix = {"markdown": "_", "latex": "% note: ", "rich": "note: "}[fmt]
    suffix = "_" if fmt == "markdown" else ""
    return "\n".join(out) + "".join(f"{prefix}{n}{suffix}\n" for n in notes)


def pairwise_cells(long: pd.DataFrame, metric: str) -> tuple[list[str], list[list[str]]]:
    delta = pairwise_matrix(long, metric, "delta")
    p_adj = pairwise_matrix(long, metric, "p_adj")
    n_pairs = pairwise_matrix(long, metric, "n_pairs")
    means = long.attrs.get("means", {}).get(metric, {})
    head = [f"{metric} (mean)"] + list(delta.columns)
    body = []
    for row in delta.index:
        mean = means.get(row)
        cells = [f"{row} ({_fmt_metric(mean, metric)})" if not _missing(mean) else row]
        for col in delta.columns:
            if row == col:
                cells.append("·")
            elif _missing(delta.loc[row, col]) or n_pairs.loc[row, col] < MIN_PAIRS:
                cells.append("–")  # a one-seed Δ describes two checkpoints, not two methods
            else:
                d = delta.loc[row, col]
                p = p_adj.loc[row, col]
                cells.append(_signed(d, metric) + ("" if _missing(p) else f" ({_p(p)})"))
        body.append(cells)
    return head, body


def _sig(p_adj, alpha: float = ALPHA) -> str:
    if _missing(p_adj):
        return ""
    return "significant" if p_adj < alpha else "n.s."


def _sort(table: pd.DataFrame, column: str, metric: str) -> pd.DataFrame:
    column = ALIASES.get(column, column)
    if column == metric:
        column = "mean"
    if column not in table.columns:
        raise SedbenchError(f"--sort {column}: choose a column of the table: {', '.join(table.columns)}")
    if column in ("method", "note", "sig", "verdict", "ci_method", "control"):
        ascending = True
    elif column in ("mean", "delta", "ci_low", "ci_high", "delta_ci_low", "delta_ci_high", "clip_delta", "ctrl_delta"):
        ascending = lower_is_better(metric)
    else:
        ascending = True if column.startswith(("p", "ctrl_p", "clip_p")) or lower_is_better(column) else False
    return table.sort_values(column, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)


def _as_list(col: pd.Series) -> list[float | None]:
    return [None if _missing(v) else float(v) for v in col]


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float | np.floating) and math.isnan(v))


# -------------------------------------------------------------------------------------- rendering
def render(table: pd.DataFrame, fmt: str = "rich") -> str:
    """The table as text in ``fmt`` (rich, markdown, latex, csv, json); notes and verdicts below it."""
    notes, verdicts = table.attrs.get("notes", []), table.attrs.get("verdicts", [])
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        rows = [{k: (None if _missing(v) else _plain(v)) for k, v in r.items()} for r in table.to_dict("records")]
        meta = {k: _plain(v) for k, v in table.attrs.items()}
        return json.dumps({**meta, "rows": rows}, indent=2)
    if fmt == "rich":
        buf = io.StringIO()
        Console(file=buf, width=250, color_system=None).print(rich_table(table))
        return buf.getvalue() + "".join(f"note: {n}\n" for n in notes) + "".join(f"verdict: {v}\n" for v in verdicts)
    if fmt == "markdown":
        head, body = display_cells(table, bold=lambda s: f"**{s}**")
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        lines += [""] + [f"_{n}_" for n in notes]
        if verdicts:
            lines += ["", *[f"- {v}" for v in verdicts]]
        return "\n".join(lines) + "\n"
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
        lines += [f"% note: {n}" for n in notes] + [f"% verdict: {v}" for v in verdicts]
        return "\n".join(lines) + "\n"
    raise SedbenchError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def rich_table(table: pd.DataFrame) -> Table:
    a = table.attrs
    title = f"{a.get('benchmark', '')} [{a.get('benchmark_hash', '')}]: {a.get('metric', '')}"
    against = [a.get("reference", "") if k == "reference" else k for k in a.get("against", ["reference"])]
    title += f" vs {' and '.join(against)}"
    head, body = display_cells(table, bold=lambda s: f"[bold green]{s}[/]", escape=_rich_escape)
    t = Table(
        title=_rich_escape(title),
        caption="p: paired t-test over seeds; p_adj: Holm over every comparison shown (notes below)",
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
    power = int(round(100 * a.get("power", POWER)))
    effect = a.get("effect")
    against = a.get("against", ["reference"])

    def name(r: dict) -> str:
        return str(r["method"]) + (" (control)" if r.get("is_control") is True else "")

    cols: list[tuple[str, Callable[[dict], str], str | None, bool]] = [
        ("Method", name, None, True),
        (f"{metric} mean ± std (n)", lambda r: _mean_std(r, metric), "mean", higher),
    ]
    if "reference" in against:
        cols += [
            (
                f"Δ vs {ref} [{pct}% CI]",
                lambda r: _delta(r, metric, "delta", "delta_ci_low", "delta_ci_high"),
                "delta",
                higher,
            ),
            ("p", lambda r: _p(r["p"]), None, True),
            ("p_adj (Holm)", lambda r: _p(r["p_holm"]), None, True),
            (f"MDE ({power}% power)", lambda r: _num_metric(r.get("mde"), metric), None, True),
            (
                "seeds for Δ" if effect is None else f"seeds for {effect:g}",
                lambda r: _seeds(r.get("seeds_needed")),
                None,
                True,
            ),
        ]
        if "p_wilcoxon_holm" in table and table["p_wilcoxon_holm"].notna().any():
            cols.append(("p_adj Wilcoxon", lambda r: _p(r["p_wilcoxon_holm"]), None, True))
    if "ctrl_delta" in table:
        cols += [
            ("control", lambda r: "–" if _missing(r.get("control")) else str(r["control"]), None, True),
            (
                f"Δ vs control [{pct}% CI]",
                lambda r: _delta(r, metric, "ctrl_delta", "ctrl_ci_low", "ctrl_ci_high"),
                None,
                True,
            ),
            ("p (control)", lambda r: _p(r["ctrl_p"]), None, True),
            ("p_adj (control)", lambda r: _p(r["ctrl_p_holm"]), None, True),
        ]
    if "clip_delta" in table:
        cols += [
            (
                f"eval-set Δ, these checkpoints [{pct}% CI]",
                lambda r: _delta(r, metric, "clip_delta", "clip_ci_low", "clip_ci_high"),
                None,
                True,
            ),
            ("eval-set p_adj", lambda r: _p(r["clip_p_holm"]), None, True),
        ]
    cols += [
        ("Params", lambda r: format_si(r["params"]), "params", False),
        ("MACs", lambda r: format_si(r["macs"]), "macs", False),
        (
            "CPU latency (1 thread)",
            lambda r: _num(r["latency_cpu_1t_ms"], "{:.2f} ms"),
            "latency_cpu_1t_ms",
            False,
        ),
        ("Train time", lambda r: format_duration(r["train_s"]), "train_s", False),
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


def _num_metric(v, metric: str) -> str:
    return "–" if _missing(v) else _fmt_metric(v, metric)


def _seeds(n) -> str:
    if _missing(n):
        return "–"
    return f">{int(n) - 1:,}" if int(n) > 10_000 else f"{int(n):,}"


def _fmt_metric(v: float, metric: str) -> str:
    if abs(v) >= 1000:
        return format_si(v)
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def _mean_std(r: dict, metric: str) -> str:
    if _missing(r["mean"]):
        return "–"
    std = "" if _missing(r["std"]) else f" ± {_fmt_metric(r['std'], metric)}"
    return f"{_fmt_metric(r['mean'], metric)}{std} ({r['n']})"


def _signed(d: float, metric: str) -> str:
    text = _fmt_metric(d + 0.0, metric)  # + 0.0: a negative zero prints as +0.000, not +-0.000
    return text if text.startswith("-") else "+" + text


def _delta(r: dict, metric: str, key: str, lo: str, hi: str) -> str:
    if _missing(r.get(key)):
        return "–"
    text = _signed(r[key], metric)
    if not _missing(r.get(lo)):
        text += f" [{_fmt_metric(r[lo], metric)}, {_fmt_metric(r[hi], metric)}]"
    return text


def _p(p) -> str:
    if _missing(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _num(v, fmt: str) -> str:
    return "–" if _missing(v) else fmt.format(v)


def format_si(v) -> str:
    """A count with an SI suffix (341k, 1.02M); "–" when missing."""
    if _missing(v):
        return "–"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def format_duration(s) -> str:
    """Seconds as s / min / h, whichever reads best; "–" when missing."""
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


def _load(results: str | os.PathLike, data: str | None = None) -> pd.DataFrame:
    """The run records of a results folder; with ``data``, their metrics on that data set
    (``sedbench evaluate RUN --data``) instead of their own eval split."""
    if data is not None:
        from sedbench.evaluation.ondata import load_on_data

        df = load_on_data(results, data)
    else:
        df = load(results)
    if df.empty:
        raise SedbenchError(
            f"no run records in {results}: `sedbench run` produces them (e.g. `sedbench run --methods all`)"
        )
    return df


def _on_data(tables: list[pd.DataFrame], data: str | None) -> list[pd.DataFrame]:
    for table in tables if data is not None else []:
        table.attrs["data"] = data
        table.attrs.setdefault("notes", []).insert(
            0, f"metrics on data set {data} (`sedbench evaluate RUN --data`), not on the runs' own eval split")
    return tables


def load_comparison(
    results: str | os.PathLike = "results",
    metric: str = "psds1",
    reference: str = "scratch",
    data: str | None = None,
    **kwargs,
) -> pd.DataFrame:
    """``comparison_table`` over a results folder, with a one-line error when it holds no runs."""
    return _on_data([comparison_table(_load(results, data), metric, reference, **kwargs)], data)[0]


def load_comparisons(
    results: str | os.PathLike = "results",
    metrics: str | Sequence[str] = "psds1",
    reference: str = "scratch",
    data: str | None = None,
    **kwargs,
) -> list[pd.DataFrame]:
    """``comparison_tables`` over a results folder (several metrics: one Holm family)."""
    return _on_data(comparison_tables(_load(results, data), metrics, reference, **kwargs), data)


def load_pairwise(results: str | os.PathLike = "results", metrics: str | Sequence[str] = "psds1",
                  data: str | None = None, **kwargs):
    """``pairwise_table`` over a results folder."""
    return pairwise_table(_load(results, data), metrics, **kwargs)


def render_many(tables: Sequence[pd.DataFrame], fmt: str = "rich") -> str:
    """Several tables in one text: CSV gets a ``metric`` column, JSON a list of tables."""
    if fmt == "csv":
        return pd.concat([t.assign(metric=t.attrs["metric"]) for t in tables], ignore_index=True).to_csv(index=False)
    if fmt == "json":
        return (
            "[\n" + ",\n".join(render(t, "json") for t in tables) + "\n]\n"
            if len(tables) > 1
            else render(tables[0], "json")
        )
    return "\n".join(render(t, fmt) for t in tables)


def print_table(
    results: str | os.PathLike = "results",
    metric: str = "psds1",
    benchmark: str | None = None,
    reference: str = "scratch",
    console: Console | None = None,
    fmt: str = "rich",
    pairwise: bool = False,
    **kwargs,
) -> pd.DataFrame | list[pd.DataFrame]:
    """Print the comparison table(s) (rich on the console, or any other format as plain text).

    ``metric`` may be a comma list (one table each, one Holm family); ``pairwise`` prints the method x
    method matrices instead. Returns the table (one metric), the tables, or the pairwise rows.
    """
    console = console or Console()
    if pairwise:
        kwargs = {k: v for k, v in kwargs.items() if k not in ("sort", "against", "clip_bootstrap", "bootstrap")}
        long = load_pairwise(results, metric, benchmark=benchmark, **kwargs)
        text = render_pairwise(long, fmt)
        console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        return long
    tables = load_comparisons(results, metric, reference, benchmark=benchmark, **kwargs)
    for i, table in enumerate(tables):
        if fmt == "rich":
            if i:
                console.print()
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
                console.print(f"[yellow]note:[/] {markup_escape(note)}", highlight=False, soft_wrap=True)
            for v in table.attrs.get("verdicts", []):
                console.print(f"[cyan]verdict:[/] {markup_escape(v)}", highlight=False, soft_wrap=True)
    if fmt != "rich":
        console.print(render_many(tables, fmt), markup=False, highlight=False, soft_wrap=True, end="")
        if fmt == "csv":  # stdout stays parseable; what was chosen or left out still gets said
            err = Console(stderr=True)
            for note in tables[0].attrs.get("notes", []):
                err.print(f"note: {note}", markup=False, highlight=False)
    return tables[0] if len(tables) == 1 else tables
