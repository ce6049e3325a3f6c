"""One self-contained HTML report of a benchmark's results (``sedbench report``).

Everything a reader needs sits in one file that opens offline: the comparison table of each metric with
its verdicts and notes, the figures (embedded as base64 PNG data URIs), the teachers with their
scores and costs, the run matrix with status and timings, and the environment the numbers came from.
The page is rendered with jinja2 from ``templates/report.html.j2`` (autoescaped); it loads nothing
from the network and runs no script.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from sedbench import __version__
from sedbench.errors import SedbenchError
from sedbench.evaluation.metrics import METRICS
from sedbench.io import atomic_write_text
from sedbench.report import plots
from sedbench.report.costs import read_run_record, teacher_seconds_from_timings, teachers_table, training_costs
from sedbench.report.tables import (
    comparison_family,
    comparison_tables,
    controls_of,
    display_cells,
    format_duration,
    format_si,
)
from sedbench.results import group_stages, group_timings, load, read_timings, select_comparable
from sedbench.stats import N_RESAMPLES

TEMPLATE = "report.html.j2"
# attrs of comparison_table that identify the table rather than say something about it
_IDENTITY_ATTRS = {"metric", "reference", "benchmark", "benchmark_hash", "notes", "confidence", "higher_is_better",
                   "n_runs", "verdicts"}


@dataclass
class Figure:
    id: str
    title: str
    caption: str
    data_uri: str | None = None
    missing: str | None = None  # why it was not drawn


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]  # cells already escaped HTML
    left: tuple[int, ...] = (0,)  # columns of text, aligned left (numbers align right)


@dataclass
class MetricSection:
    metric: str
    label: str
    table: Table
    verdicts: list[str]
    notes: list[str]
    extra: list[tuple[str, str]] = field(default_factory=list)  # (name, text) from the table's attrs
    figures: list[Figure] = field(default_factory=list)


def write_report(
    results: str | os.PathLike = "results",
    out: str | os.PathLike | None = None,
    *,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    reference: str | None = None,
    metrics: Sequence[str] | None = None,
    n_resamples: int = N_RESAMPLES,
) -> Path:
    """Write the HTML report of the results under ``results``; returns its path.

    ``out`` defaults to ``<results>/<benchmark>/<settings hash>/report.html``, the group's own report
    (another profile's or settings' report never replaces it), copied to ``<results>/report.html``: the
    newest report. ``reference`` defaults to ``scratch`` when it has runs, else the first method. With
    one seed per method the PSDS tables add the clip-level bootstrap; ``n_resamples`` also draws the
    hierarchical CI, with `sedbench table`'s default, so the report and the table give the same CIs.
    """
    results = Path(results)
    context = report_context(results, benchmark=benchmark, benchmark_hash=benchmark_hash, reference=reference,
                             metrics=metrics, n_resamples=n_resamples)
    html = render_report(context)
    if out is not None:
        atomic_write_text(Path(out), html)
        return Path(out)
    atomic_write_text(results / context["benchmark"] / context["benchmark_hash"] / "report.html", html)
    atomic_write_text(results / "report.html", html)
    return results / context["benchmark"] / context["benchmark_hash"] / "report.html"


def render_report(context: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("sedbench.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE).render(**context)


def report_context(
    results: Path,
    *,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
    reference: str | None = None,
    metrics: Sequence[str] | None = None,
    n_resamples: int = N_RESAMPLES,
) -> dict[str, Any]:
    """Everything the template shows, computed from the results folder."""
    df = load(results)
    if df.empty:
        raise SedbenchError(f"no run records in {results}: `sedbench run` produces them")
    runs, load_notes = select_comparable(df, benchmark, benchmark_hash)
    if runs.empty:
        raise SedbenchError(f"no completed run in {results}: nothing to report (the run matrix lists why)")
    bench = str(runs["benchmark"].iloc[0])
    bench_hash = str(runs["benchmark_hash"].iloc[0])
    group = df[(df["benchmark"] == bench) & (df["benchmark_hash"].astype(str) == bench_hash)]
    methods = sorted(runs["method"].unique())
    if reference is None or reference not in methods:
        fallback = "scratch" if "scratch" in methods else methods[0]
        if reference is not None:  # said once, as the table layer says a missing reference
            load_notes = [*load_notes, f"reference method {reference!r} has no completed runs in this group: "
                                       f"the deltas are against {fallback}"]
        reference = fallback
    # a group is often built by several `sedbench run` commands: the stages and teachers of all of them
    timings = read_timings(group_timings(results, bench, bench_hash))
    teacher_s = teacher_seconds_from_timings(timings)
    single_seed = int(runs.groupby("method")["seed"].nunique().max()) < 2

    # each method against the reference, and against its control where the records name one
    against = ("reference", "control") if controls_of(runs) else ("reference",)
    with tempfile.TemporaryDirectory(prefix="sedbench-report-") as tmp:
        draw = _Drawer(Path(tmp))
        sections = []
        shown = list(metrics or [m for m in METRICS if m in runs and pd.to_numeric(runs[m], errors="coerce")
                                 .notna().any()])
        # every comparison of every metric table on the page is one Holm family (the README does the
        # same over its tables): a reader sees them together, so the verdicts must survive all of them
        family = comparison_family(df, shown, reference, against=against, benchmark=bench,
                                   benchmark_hash=bench_hash, n_resamples=n_resamples, clip=single_seed)
        tables = comparison_tables(df, shown, reference, against=against, benchmark=bench, benchmark_hash=bench_hash,
                                   bootstrap=single_seed, n_resamples=n_resamples, family=family)
        for metric, table in zip(shown, tables, strict=True):
            section = _metric_section(table)
            section.figures.append(draw(f"forest-{metric}", f"Δ {section.label} vs {reference}",
                                        "Each method's difference from the reference (and from its control) "
                                        "with its confidence interval over seeds; filled: Holm-adjusted p < "
                                        "0.05 over every comparison on this page.",
                                        lambda path, m=metric: plots.forest(
                                            family[family["metric"] == m], path,
                                            family_note=f"p_adj: paired t-test over seeds, Holm over the "
                                            f"{family.attrs['family_size']} comparisons of this report's tables")))
            sections.append(section)
        headline = sections[0].metric if sections else "psds1"
        cost_figures = _cost_figures(draw, df, runs, bench, bench_hash, headline, reference, teacher_s)
        class_figures = [
            draw("per-class-psds1", "Per-class PSDS1", "Mean and std over seeds of each class's PSDS1; PSDS1's "
                 "α_st = 1 subtracts their spread from their mean, so the weakest classes set the headline.",
                 lambda path: plots.per_class(df, path, "psds1", benchmark=bench, benchmark_hash=bench_hash)),
        ]
        roc_runs = _roc_runs(df, bench, bench_hash)
        roc_figures = [
            draw(f"psdroc-{m}", f"PSD-ROC curves, {m.upper()}", "The curves whose normalised area is the PSDS, "
                 "one seed per method (the smallest seed all share).",
                 lambda path, m=m: plots.psd_roc(roc_runs, path, m) if roc_runs else _none("no common seed"))
            for m in ("psds1", "psds2")
        ]

    costs = training_costs(runs, teacher_s)
    teachers = teachers_table(runs, teacher_s)
    run_notes = sorted({n for d in group["run_dir"] for n in (read_run_record(d).get("notes") or [])})
    newest = read_run_record(runs.sort_values("recorded", kind="stable")["run_dir"].iloc[-1])
    return {
        "title": f"sedbench report: {bench}",
        "benchmark": bench,
        "benchmark_hash": bench_hash,
        "reference": reference,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sedbench_version": __version__,
        "n_complete": len(runs),
        "n_records": len(group),
        "n_methods": len(methods),
        "n_seeds": int(runs["seed"].nunique()),
        "single_seed": single_seed,
        "load_notes": load_notes,
        "run_notes": run_notes,
        "sections": sections,
        "cost_figures": cost_figures,
        "class_figures": class_figures,
        "roc_figures": roc_figures,
        "per_class": _per_class_table(runs),
        "costs": _costs_table(costs),
        "teachers": _teachers_table(teachers),
        "matrix": _matrix_table(group),
        "failures": _failures(group),
        "stages": _stages_table(group_stages(timings)),
        "environment": _environment(newest, bench_hash),
        "config": json.dumps(newest.get("config") or {}, indent=2, sort_keys=True, default=str),
    }


# ------------------------------------------------------------------------------------------ figures
class _Drawer:
    """Draws a figure into a PNG and embeds it; a figure that cannot be drawn says why instead."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, fid: str, title: str, caption: str, fn: Callable[[Path], Path]) -> Figure:
        path = self.folder / f"{fid}.png"
        try:
            fn(path)
        except SedbenchError as exc:
            return Figure(fid, title, caption, missing=str(exc))
        return Figure(fid, title, caption, data_uri=png_data_uri(path))


def png_data_uri(path: str | os.PathLike) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _none(reason: str):
    raise SedbenchError(reason)


def _cost_figures(draw, df, runs, bench, bench_hash, metric, reference, teacher_s) -> list[Figure]:
    """The ranked plot, then the metric against each cost on which the methods differ."""
    figures = [draw(f"ranked-{metric}", f"{metric.upper()} by method, ranked",
                    "Every seed as a dot, the mean with its 95 % confidence interval over seeds; the dashed line is "
                    f"{reference}'s mean.",
                    lambda path: plots.ranked(df, path, metric, bench, bench_hash, reference=reference))]
    costs = training_costs(runs, teacher_s)
    same = []
    for cost in ("train", "params_all", "params", "macs", "latency", "energy"):
        column, label = plots.cost_axis(cost)
        if column not in costs:
            continue
        per_method = pd.to_numeric(costs[column], errors="coerce").groupby(costs["method"]).mean().dropna()
        if per_method.empty:
            continue
        if plots.single_valued(per_method.tolist()):
            same.append(f"{label.split(' (')[0]} ({plots.fmt_cost(per_method.iloc[0], column)})")
            continue
        caption = ("Hollow marker: the student's training alone; filled: with the teachers it reads (a shared "
                   "teacher is counted in full for each method). " if cost == "train" else "")
        figures.append(draw(f"cost-{cost}-{metric}", f"{metric.upper()} against {label.split(' (')[0]}",
                            caption + "Mean and 95 % CI over seeds; the dashed staircase joins the methods that no "
                            "other beats at a lower cost.",
                            lambda path, c=cost: plots.pareto(df, path, metric, c, bench, bench_hash,
                                                              teacher_seconds=teacher_s, reference=reference)))
    if same:
        figures[0].caption += " Every method has the same " + "; the same ".join(same) + ": no front is drawn "
        figures[0].caption += "against those."
    return figures


def _roc_runs(df, bench, bench_hash) -> dict[str, str]:
    try:
        return plots.runs_for_seed(df, None, None, bench, bench_hash)
    except SedbenchError:
        return {}


# ------------------------------------------------------------------------------------------- tables
def _metric_section(table: pd.DataFrame) -> MetricSection:
    a = table.attrs
    head, body = display_cells(table, bold=lambda s: f"<strong>{s}</strong>", escape=html.escape)
    extra = []
    for key, value in a.items():
        if key in _IDENTITY_ATTRS or value is None:
            continue
        if isinstance(value, str):
            extra.append((key.replace("_", " "), value))
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value) and value:
            extra.append((key.replace("_", " "), " ".join(value)))
    return MetricSection(metric=a.get("metric", ""), label=plots.METRIC_LABELS.get(a.get("metric", ""),
                         a.get("metric", "")), table=Table(head, body), verdicts=verdicts(table),
                         notes=list(a.get("notes") or []), extra=extra)


def verdicts(table: pd.DataFrame) -> list[str]:
    """One sentence per compared method: the table's own (``attrs['verdicts']``), or read off its columns."""
    given = table.attrs.get("verdicts")
    if isinstance(given, dict):
        return [f"{k}: {v}" for k, v in given.items()]
    if isinstance(given, list | tuple):
        return [str(v) for v in given]
    a = table.attrs
    metric, reference = a.get("metric", "the metric"), a.get("reference", "the reference")
    higher = a.get("higher_is_better", True)
    pct = int(round(100 * a.get("confidence", 0.95)))
    out = []
    for _, r in table.iterrows():
        if r["method"] == reference or pd.isna(r.get("delta")):
            continue
        d = float(r["delta"])
        ci = ""
        if not pd.isna(r.get("delta_ci_low")) and not pd.isna(r.get("delta_ci_high")):
            ci = f", {pct} % CI [{r['delta_ci_low']:+.3f}, {r['delta_ci_high']:+.3f}]"
        p = r.get("p_holm")
        if not pd.isna(p):
            better = (d > 0) == higher
            if float(p) < 0.05:
                what = f"{'better' if better else 'worse'} than {reference} (Holm-adjusted p = {float(p):.3g})"
            else:
                what = (f"no difference from {reference} shown (Holm-adjusted p = {float(p):.2g}); the seeds "
                        "do not separate them")
        elif "boot_p_holm" in r and not pd.isna(r.get("boot_p_holm")):
            what = (f"one seed, so no test between methods; the clip bootstrap (p = {float(r['boot_p_holm']):.2g}) "
                    "speaks only about this seed's models")
        else:
            what = "too few paired seeds for a test"
        out.append(f"{r['method']}: {d:+.3f} {metric} vs {reference}{ci}: {what}.")
    return out


def _per_class_table(runs: pd.DataFrame) -> Table | None:
    cols = [c for c in runs.columns if c.startswith("per_class_psds1.")]
    if not cols:
        return None
    data = runs[["method", *cols]].copy()
    data[cols] = data[cols].apply(pd.to_numeric, errors="coerce")
    mean = data.groupby("method")[cols].mean()
    mean = mean.loc[mean.mean(axis=1).sort_values(ascending=False, kind="stable").index]
    head = ["Method", *[c.split(".", 1)[1].replace("_", " ") for c in cols]]
    rows = [[html.escape(m), *[_f3(v) for v in r]] for m, r in mean.iterrows()]
    return Table(head, rows)


def _e(value) -> str:  # kWh of a CPU run are 1e-3..1e-1: three significant digits
    return _num(value, "{:.3g}")


def _costs_table(costs: pd.DataFrame) -> Table:
    cols = [("train_s", "Student training", format_duration), ("teacher_s", "Teachers' training", format_duration),
            ("train_total_s", "Whole training cost", format_duration), ("energy_kwh", "Student energy (kWh)", _e),
            ("energy_total_kwh", "Energy with teachers (kWh)", _e),
            ("params", "Deployed params", format_si), ("params_all_models", "Params of all deployed models", format_si),
            ("macs", "MACs", format_si),
            ("latency_cpu_1t_ms", "CPU latency (1 thread)", lambda v: _num(v, "{:.2f} ms"))]
    cols = [c for c in cols if c[0] in costs and pd.to_numeric(costs[c[0]], errors="coerce").notna().any()]
    numeric = {c: pd.to_numeric(costs[c], errors="coerce") for c, _, _ in cols}
    agg = pd.DataFrame(numeric).groupby(costs["method"]).mean()
    teachers = costs.groupby("method")["teachers_used"].first()
    head = ["Method", "Teachers", *[label for _, label, _ in cols]]
    order = agg.sort_values("train_total_s" if "train_total_s" in agg else agg.columns[0], kind="stable").index
    rows = [[html.escape(m), html.escape(teachers.get(m) or "–"), *[fmt(agg.loc[m, c]) for c, _, fmt in cols]]
            for m in order]
    return Table(head, rows, left=(0, 1))


def _teachers_table(teachers: pd.DataFrame) -> Table:
    rows = [[html.escape(str(r.teacher)), html.escape(str(r.model or "–")), format_si(r.params), _f3(r.psds1),
             _f3(r.psds2), format_duration(r.train_s), html.escape(r.used_by)] for r in teachers.itertuples()]
    return Table(["Teacher", "Model", "Params", "Validation PSDS1", "Validation PSDS2", "Training time",
                  "Read by"], rows, left=(0, 1, 6))


def _matrix_table(group: pd.DataFrame) -> Table:
    seeds = sorted(int(s) for s in group["seed"].dropna().unique())
    head = ["Method", *[f"seed {s}" for s in seeds]]
    rows = []
    for method, g in group.groupby("method", sort=True):
        cells = [html.escape(str(method))]
        for s in seeds:
            r = g[g["seed"] == s]
            if r.empty:
                cells.append('<span class="muted">not run</span>')
                continue
            r = r.iloc[0]
            status = str(r.get("status"))
            css = "ok" if status == "complete" else "bad"
            parts = [f'<span class="{css}">{html.escape(status)}</span>']
            train, ev = r.get("train_s"), r.get("eval_s")
            if not _missing(train):
                parts.append(f"train {format_duration(train)}")
            if not _missing(ev):
                parts.append(f"eval {format_duration(ev)}")
            cells.append("<br>".join(parts))
        rows.append(cells)
    return Table(head, rows, left=tuple(range(len(head))))


def _failures(group: pd.DataFrame) -> list[str]:
    bad = group[group["status"] != "complete"]
    return [f"{r.method} seed {r.seed}: {r.status}" + (f", {r.error}" if isinstance(r.error, str) else "")
            for r in bad.itertuples()]


def _stages_table(stages: list[dict[str, Any]]) -> Table | None:
    if not stages:
        return None
    rows = [[html.escape(str(s.get("stage"))), format_duration(s.get("seconds"))]
            for s in sorted(stages, key=lambda s: -(s.get("seconds") or 0))]
    return Table(["Stage", "Wall time"], rows)


def _environment(record: dict[str, Any], bench_hash: str) -> list[tuple[str, str]]:
    env = record.get("environment") or {}
    commit = env.get("git_commit")
    if commit and env.get("git_dirty"):
        commit += " (uncommitted changes)"
    items = [
        ("settings hash", bench_hash),
        ("run config hash (newest run)", record.get("config_hash")),
        ("sedbench", env.get("sedbench")),
        ("git commit", commit),
        ("python", env.get("python")),
        ("torch", env.get("torch")),
        ("device", env.get("device")),
        ("cuda", env.get("cuda")),
        ("processor", env.get("processor")),
        ("CPU cores", env.get("cpu_count")),
        ("platform", env.get("platform")),
        ("host", env.get("hostname")),
        ("newest run finished", record.get("finished")),
    ]
    return [(k, str(v)) for k, v in items if v not in (None, "")]


# ----------------------------------------------------------------------------------------- helpers
def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA


def _f3(v) -> str:
    return "–" if _missing(v) else f"{float(v):.3f}"


def _num(v, fmt: str) -> str:
    return "–" if _missing(v) else fmt.format(float(v))


# ------------------------------------------------------------------------------------------- check
REQUIRED_TABLES = ("metric-psds1", "costs", "per-class", "teachers", "matrix", "environment")
REQUIRED_FIGURES = ("ranked-psds1", "forest-psds1", "per-class-psds1", "psdroc-psds1", "psdroc-psds2")


@dataclass
class ReportCheck:
    tables: list[str]
    figures: list[str]  # embedded PNGs
    missing_figures: list[str]  # figures the report says it could not draw
    external: list[str]  # src/href that would need the network or another file
    decoded: dict[str, str]  # figure -> data-decoded attribute (set by a browser check, else absent)

    def problems(self, tables: Sequence[str] = REQUIRED_TABLES, figures: Sequence[str] = REQUIRED_FIGURES
                 ) -> list[str]:
        out = [f"table {t} is missing" for t in tables if t not in self.tables]
        out += [f"figure {f} is missing" + (" (not drawn)" if f in self.missing_figures else "")
                for f in figures if f not in self.figures]
        out += [f"external reference {e}" for e in self.external]
        out += [f"figure {f} did not decode in the browser" for f, v in self.decoded.items() if v != "yes"]
        return out


def check_report_html(text: str) -> ReportCheck:
    """The tables and figures a report (or a browser's DOM of it) holds, and any external reference."""
    from html.parser import HTMLParser

    check = ReportCheck([], [], [], [], {})

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            kind, _, name = (a.get("data-check") or "").partition(":")
            if kind == "table":
                check.tables.append(name)
            elif kind == "figure" and tag == "img" and (a.get("src") or "").startswith("data:image/png;base64,"):
                check.figures.append(name)
                if "data-decoded" in a:
                    check.decoded[name] = a["data-decoded"] or ""
            elif kind == "missing":
                check.missing_figures.append(name)
            for attr in ("src", "href"):
                value = a.get(attr)
                if value and not value.startswith(("data:", "#")):
                    check.external.append(f"<{tag} {attr}={value[:80]}>")

    Parser().feed(text)
    return check
