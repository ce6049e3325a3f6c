"""The sedbench command line: thin click commands over the Python API.

Every command catches user mistakes (SedbenchError, click usage errors) and prints one line on
stderr with a non-zero exit code; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from sedbench import __version__
from sedbench.errors import SedbenchError

console = Console()
err_console = Console(stderr=True)


class SedbenchGroup(click.Group):
    """Turns SedbenchError into a one-line message unless --debug is on."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SedbenchError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)


@click.group(cls=SedbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sedbench")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Benchmark knowledge-distillation methods for sound event detection."""
    ctx.obj = {"debug": debug}


# ----------------------------------------------------------------------------------------- data
@cli.group()
def data() -> None:
    """Generate, check and inspect datasets in the DESED layout."""


# the names of sedbench.data.synth.PRESETS, spelled out so `sedbench --help` does not import numpy
SYNTH_PRESETS = ("tiny", "quick", "full")


@data.command("synth")
@click.option("--preset", type=click.Choice(SYNTH_PRESETS), default="quick", show_default=True,
              help="Dataset size: tiny (tests), quick (CPU benchmark) or full (DESED sizes).")
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: data/desed-synth/<preset>-seed<seed>].")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (the files are identical whatever the number).")
@click.option("--force", is_flag=True, help="Regenerate even if a complete dataset is already there.")
def data_synth(preset: str, seed: int, out: Path | None, jobs: int, force: bool) -> None:
    """Generate the embedded desed-synth dataset in the DESED layout."""
    from sedbench.data.synth import generate, summary_table

    root = generate(preset, seed, out=out, jobs=jobs, progress=True, force=force)
    console.print(str(root), highlight=False, soft_wrap=True)
    console.print(summary_table(root))


@data.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--max-problems", default=20, show_default=True, help="How many problems to list.")
@click.pass_context
def data_check(ctx: click.Context, path: Path, max_problems: int) -> None:
    """Check a dataset (desed-synth root or data-config YAML): files, labels, audio.

    Exits 0 when it has no problems (notes such as 'will be resampled' are fine), 1 otherwise.
    """
    from sedbench.data.check import check_dataset, print_report

    report = check_dataset(path, progress=True)
    print_report(report, console, max_problems=max_problems)
    if not report.ok:
        ctx.exit(1)


# -------------------------------------------------------------------------------------- methods
plugin_option = click.option("--plugin", "plugins", multiple=True, type=click.Path(path_type=Path),
                             help="A method plugin file to load (repeatable).")


@cli.command("methods")
@plugin_option
def methods_cmd(plugins: tuple[Path, ...]) -> None:
    """List the registered distillation methods (built-in, entry points, plugin files)."""
    import dataclasses

    from rich.table import Table

    from sedbench.methods import build_params, discover

    table = Table(title="sedbench methods")
    for col in ("method", "description", "source", "deploys", "hyperparameters"):
        table.add_column(col, overflow="fold")
    for name, cls in sorted(discover(plugins).items()):
        params = dataclasses.asdict(build_params(cls))
        table.add_row(name, cls.description, cls.source, cls.deploy,
                      ", ".join(f"{k}={v}" for k, v in params.items()) or "-")
    console.print(table)




# ------------------------------------------------------------------------------ run / evaluate
def _benchmark(profile: str | None, overrides: tuple[str, ...], results: Path, cache: Path, device: str | None,
               jobs: int = 1):
    from sedbench.benchmark import Benchmark
    from sedbench.config import default_profile

    return Benchmark.from_profile(profile or default_profile(), overrides, results_root=results,
                                  cache_root=cache, device=device, jobs=jobs)


profile_options = [
    click.option("--profile", default=None, help="Benchmark profile: tiny, quick, full or a YAML path "
                 "[default: full with a GPU, quick without]."),
    click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                 help="Override a profile value, e.g. --set training.steps=200 (repeatable)."),
    click.option("--results", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
                 help="Results folder."),
    click.option("--cache", type=click.Path(path_type=Path), default=Path("cache"), show_default=True,
                 help="Cache folder (features, teacher zoo)."),
    click.option("--device", default=None, help="torch device [default: cuda when available, else cpu]."),
]


def with_profile_options(fn):
    for option in reversed(profile_options):
        fn = option(fn)
    return fn


@cli.command("run")
@click.option("--methods", "methods_spec", default="all", show_default=True,
              help="'all', a comma list, or globs (e.g. 'scratch,*kd').")
@click.option("--seeds", default=None, help="A count (3 -> 0,1,2) or a comma list [default: the profile's].")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="Parallel local processes.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray).")
@click.option("--force", is_flag=True, help="Re-run pairs whose results are already complete.")
@click.option("--dry-run", is_flag=True, help="Print the run matrix and what is cached; train nothing.")
@click.option("--no-table", is_flag=True, help="Do not print the comparison table at the end.")
@with_profile_options
@plugin_option
def run_cmd(methods_spec: str, seeds: str | None, jobs: int, executor: str, address: str | None, force: bool,
            dry_run: bool, no_table: bool, profile: str | None, overrides: tuple[str, ...], results: Path,
            cache: Path, device: str | None, plugins: tuple[Path, ...]) -> int:
    """Run the benchmark: data, teachers, then every (method, seed) pair, then the table."""
    from sedbench import runner

    bench = _benchmark(profile, overrides, results, cache, device, jobs)
    plugins = tuple(str(p) for p in plugins)
    methods = runner.resolve_methods(methods_spec, plugins)
    seed_list = runner.resolve_seeds(seeds, bench)
    if dry_run:
        _print_matrix(bench, methods, seed_list, plugins)
        return 0
    console.print(f"[bold]sedbench[/] profile [cyan]{bench.name}[/] on {bench.device}: "
                  f"{len(methods)} method(s) x {len(seed_list)} seed(s) -> {results}")
    summaries = runner.run_matrix(bench, methods, seed_list, jobs=jobs, executor=executor, address=address,
                                  force=force, plugins=plugins, console=console)
    failed = [s for s in summaries if s["status"] != "complete"]
    for s in failed:
        err_console.print(f"[red]failed[/] {s['method']} seed {s['seed']}: {s.get('error')}", highlight=False)
    if not no_table:
        from sedbench.report import plots
        from sedbench.report.tables import print_table
        from sedbench.results import load

        reference = bench.config.get("reference", "scratch")
        # with a single seed there is no seed-level test: the clip-level bootstrap stands in
        print_table(results, metric="psds1", benchmark=bench.name,
                    reference=reference if reference in methods else methods[0], console=console,
                    bootstrap=len(seed_list) < 2, n_resamples=500)
        png = plots.pareto(load(results), results / "plots" / f"{bench.name}-pareto-psds1-macs.png", "psds1",
                           "macs", benchmark=bench.name)
        console.print(f"Pareto plot: {png}")
    return 1 if failed else 0


def _print_matrix(bench, methods: list[str], seeds: list[int], plugins: tuple[str, ...]) -> None:
    from rich.table import Table

    from sedbench import runner
    from sedbench.teachers import teacher_dir

    table = Table(title=f"run matrix: profile {bench.name}, results {bench.results_root}")
    table.add_column("method")
    for seed in seeds:
        table.add_column(f"seed {seed}")
    for method in methods:
        table.add_row(method, *[
            "[green]cached[/]" if runner.pair_status(bench, method, s, plugins) == "cached" else "will train"
            for s in seeds])
    console.print(table)
    for name in runner.teachers_needed(methods, bench, plugins):
        state = "cached" if (teacher_dir(bench, name) / "info.json").is_file() else "will train"
        console.print(f"teacher {name}: {state}")




@cli.command("evaluate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--metrics", "which", default=None, help="Comma list of metrics [default: all].")
@click.option("--update", is_flag=True, help="Write the recomputed metrics into the run's record (atomic).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--data", "data", default=None, type=click.Path(path_type=Path),
              help="Score the run's deployed student(s) on this DESED-format set instead (desed-synth root or "
              "data-config YAML); RUN_DIR may then be a results folder (every complete run).")
@click.option("--split", default="eval", show_default=True, help="Split of --data to score.")
@click.option("--name", default=None, help="Name of the evaluation [default: the data set's name].")
@click.option("--cache", type=click.Path(path_type=Path), default=Path("cache"), show_default=True,
              help="Cache folder (features of --data).")
@click.option("--device", default=None, help="torch device [default: cuda when available, else cpu].")
def evaluate_cmd(run_dir: Path, which: str | None, update: bool, as_json: bool, data: Path | None, split: str,
                 name: str | None, cache: Path, device: str | None) -> None:
    """Recompute a run's metrics from its stored scores, or score it on other data with --data.

    With --data, the result goes to RUN_DIR/evaluations/NAME/ (scores, metrics); the run's own record
    is not changed. `sedbench table --data NAME` compares the methods on that set.
    """
    import json

    if data is not None:
        if update or which:
            raise click.UsageError("--update and --metrics recompute the run's own metrics; leave them out "
                                   "with --data (every metric is computed, into RUN_DIR/evaluations/)")
        _evaluate_on_data(run_dir, data, split, name, cache, device, as_json)
        return
    if name is not None or split != "eval":
        raise click.UsageError("--split and --name go with --data")

    from rich.table import Table

    from sedbench.evaluation import evaluate_run
    from sedbench.results import RECORD_FILE, read_record

    stored = {}
    if (run_dir / RECORD_FILE).is_file():
        stored = read_record(run_dir).get("metrics") or {}
    metrics = evaluate_run(run_dir, which=which.split(",") if which else None, update=update)
    if as_json:
        console.print_json(json.dumps(metrics))
        return
    table = Table(title=f"metrics of {run_dir}")
    for col in ("metric", "recomputed", "stored"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, value in metrics.items():
        if not isinstance(value, dict):
            old = stored.get(name)
            table.add_row(name, _fmt4(value), _fmt4(old))
    console.print(table)
    if update:
        console.print(f"updated {run_dir / RECORD_FILE}")


def _fmt4(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _evaluate_on_data(target: Path, data: Path, split: str, name: str | None, cache: Path, device: str | None,
                      as_json: bool) -> None:
    import json

    from rich.table import Table

    from sedbench.evaluation.metrics import METRICS
    from sedbench.evaluation.ondata import evaluate_on_data, evaluate_results
    from sedbench.results import RECORD_FILE, read_record

    if (target / RECORD_FILE).is_file():
        result = evaluate_on_data(target, data, split, name=name, cache_root=cache, device=device)
        if as_json:
            console.print_json(json.dumps(result.metrics))
            return
        own = read_record(target).get("metrics") or {}
        table = Table(title=f"{target} on {result.name}")
        for col in ("metric", result.name, "own eval"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for metric in METRICS:
            table.add_row(metric, _fmt4(result.metrics.get(metric)), _fmt4(own.get(metric)))
        console.print(table)
        runs, skipped, notes = [result], [], result.notes
    else:
        folder = evaluate_results(target, data, split, name=name, cache_root=cache, device=device,
                                  console=err_console)
        runs, skipped, notes = folder.results, folder.skipped, folder.notes
        if as_json:
            console.print_json(json.dumps({str(r.run_dir): r.metrics for r in runs}))
        elif runs:
            table = Table(title=f"{target} on {runs[0].name}: {len(runs)} run(s)")
            for col in ("run", "psds1", "psds2", "intersection_f1", "weak_map"):
                table.add_column(col, justify="left" if col == "run" else "right")
            for r in runs:
                table.add_row(str(r.run_dir), *[_fmt4(r.metrics.get(m)) for m in
                                                ("psds1", "psds2", "intersection_f1", "weak_map")])
            console.print(table)
    for note in notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    for run, why in skipped:
        err_console.print(f"[yellow]skipped[/] {run}: {why}", highlight=False, soft_wrap=True)
    if runs and not as_json:
        where = runs[0].out_dir if len(runs) == 1 else f"RUN/evaluations/{runs[0].name}/ of each run"
        console.print(f"wrote {where}; compare with `sedbench table --data {runs[0].name}`", highlight=False,
                      soft_wrap=True)
    if not runs:
        raise SedbenchError(f"no run under {target} could be evaluated on {data}")


# -------------------------------------------------------------------------------------- predict
@cli.command("predict")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("detections.tsv"), show_default=True,
              help="Detections TSV (DCASE format: filename onset offset event_label).")
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Score above which a class is on.")
@click.option("--scores", "scores_dir", type=click.Path(path_type=Path), default=None,
              help="Also write per-clip sed_scores_eval score files into this folder.")
@click.option("--environment", default=None,
              help="For runs with one student per environment: the environment of the recordings.")
@click.option("--device", default=None, help="torch device [default: cuda when available, else cpu].")
def predict_cmd(run_dir: Path, audio: tuple[Path, ...], out: Path, threshold: float,
                scores_dir: Path | None, environment: str | None, device: str | None) -> int:
    """Detect events in audio files (or folders of them) with a run's deployed student.

    Any WAV/FLAC/OGG at any rate and channel count (resampled, down-mixed); the run's front end and
    median filter; audio longer than the training clips is processed in windows. Exits 1 when a file
    could not be read (the others are still processed).
    """
    from sedbench.evaluation.scores import write_scores
    from sedbench.inference import predict_files, write_detections

    result = predict_files(run_dir, audio, threshold=threshold, environment=environment, device=device,
                           console=err_console)
    if result.scores:
        write_detections(out, result.detections)
        if scores_dir is not None:
            write_scores(scores_dir, result.scores)
        extra = f", scores in {scores_dir}" if scores_dir is not None else ""
        console.print(f"{len(result.detections)} event(s) in {len(result.scores)} file(s) -> {out}{extra}",
                      highlight=False)
    if result.errors:
        err_console.print(f"{len(result.errors)} file(s) not processed", highlight=False)
        if not result.scores:
            raise SedbenchError("no file could be processed")
        return 1
    return 0


# ------------------------------------------------------------------------------------- teachers
@cli.group()
def teachers() -> None:
    """The teacher zoo: train the profile's teachers once, list them with their scores."""


@teachers.command("train")
@click.option("--only", "names", multiple=True, help="Train only this teacher (repeatable).")
@click.option("--force", is_flag=True, help="Retrain even if cached.")
@with_profile_options
def teachers_train(names: tuple[str, ...], force: bool, profile: str | None, overrides: tuple[str, ...],
                   results: Path, cache: Path, device: str | None) -> None:
    """Train (or reuse) the profile's teachers and cache their outputs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sedbench.teachers import teacher_spec, train_teacher

    bench = _benchmark(profile, overrides, results, cache, device)
    chosen = list(names) or list(bench.config.get("teachers", {}))
    for name in chosen:
        teacher_spec(bench, name)  # unknown names fail before any training
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bench.progress = progress
        for name in chosen:
            train_teacher(bench, name, progress=progress, force=force)
    _print_teachers(bench)


@teachers.command("list")
@with_profile_options
def teachers_list(profile: str | None, overrides: tuple[str, ...], results: Path, cache: Path,
                  device: str | None) -> None:
    """List the profile's teachers: trained or not, parameters, validation PSDS."""
    _print_teachers(_benchmark(profile, overrides, results, cache, device))


def _print_teachers(bench) -> None:

    from rich.table import Table

    from sedbench.teachers import read_teacher_info, teacher_dir, teachers_table

    df = teachers_table(bench)
    table = Table(title=f"teachers of profile {bench.name}")
    for col in ("teacher", "model", "trained", "params", "psds1", "psds2", "train_s"):
        table.add_column(col)
    for _, row in df.iterrows():
        fmt = [row["teacher"], row["model"], "yes" if row["trained"] else "no"]
        for col, spec in (("params", ",.0f"), ("psds1", ".3f"), ("psds2", ".3f"), ("train_s", ".0f")):
            value = row.get(col)
            fmt.append("-" if value is None or value != value else format(value, spec))
        table.add_row(*fmt)
    console.print(table)
    for name in df.loc[df["trained"], "teacher"] if len(df) else []:
        info = read_teacher_info(teacher_dir(bench, name))
        per_class = info["validation"].get("per_class_psds1", {})
        if per_class:
            console.print(f"{name} per-class PSDS1: " + ", ".join(
                f"{c} {'-' if v is None else format(v, '.2f')}" for c, v in per_class.items()))




# -------------------------------------------------------------------------------------- profile
@cli.command("profile")
@click.argument("target")
@click.option("--n-mels", default=128, show_default=True, help="Mel bands (model name only).")
@click.option("--hop-length", default=256, show_default=True, help="STFT hop (model name only).")
@click.option("--n-fft", default=2048, show_default=True, help="STFT size = window (model name only).")
@click.option("--n-classes", default=10, show_default=True, help="Classes (model name only).")
@click.option("--runs", default=50, show_default=True, type=click.IntRange(1), help="Timed runs per setting.")
@click.option("--warmup", default=10, show_default=True, type=click.IntRange(0), help="Untimed runs first.")
@click.option("--no-latency", is_flag=True, help="Count parameters and MACs only.")
@click.option("--json", "as_json", is_flag=True, help="Print the record section as JSON.")
def profile_cmd(target: str, n_mels: int, hop_length: int, n_fft: int, n_classes: int, runs: int, warmup: int,
                no_latency: bool, as_json: bool) -> None:
    """Parameters, MACs (thop, ptflops, FlopCounter), latency and memory of TARGET.

    TARGET is a registered model name or a run directory (run.json + model.pt).
    """
    import json

    from sedbench.complexity import measure
    from sedbench.complexity.load import load_target
    from sedbench.complexity.report import complexity_table

    model, features, label = load_target(target, n_mels=n_mels, n_classes=n_classes)
    if features is None:
        features = {"n_mels": n_mels, "hop_length": hop_length, "n_fft": n_fft, "win_length": n_fft}
    record = measure(model, features, runs=runs, warmup=warmup, latency=not no_latency)
    if as_json:
        click.echo(json.dumps(record, indent=2))
    else:
        console.print(complexity_table(record, title=f"profile of {label}"))
        if record["macs_disagreement"]:
            console.print(f"[yellow]MAC counters disagree by more than 10 %:[/] {record['macs_note']}")


# -------------------------------------------------------------------------------- table / plot
def results_options(fn):
    for option in reversed([
        click.option("--results", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
                     help="Results folder."),
        click.option("--benchmark", default=None, help="Benchmark name (needed when results hold several)."),
        click.option("--hash", "benchmark_hash", default=None,
                     help="Benchmark settings hash (prefix) [default: the newest]."),
    ]):
        fn = option(fn)
    return fn


@cli.command("table")
@click.option("--metric", default="psds1", show_default=True,
              help="Any metric column: psds1, psds2, event_f1, weak_map, params, macs, latency, train_s...")
@click.option("--reference", default="scratch", show_default=True,
              help="Method every other is compared with.")
@click.option("--format", "fmt", type=click.Choice(["rich", "markdown", "latex", "csv", "json"]),
              default="rich", show_default=True)
@click.option("--sort", default=None, help="Column to sort by [default: the metric, best first].")
@click.option("--bootstrap", is_flag=True, help="Add a clip-level paired bootstrap test (psds1/psds2).")
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(10),
              help="Bootstrap resamples.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead (rich becomes markdown).")
@click.option("--data", default=None,
              help="Compare on another data set: the metrics of `sedbench evaluate RUN --data` with this name.")
@results_options
def table_cmd(metric: str, reference: str, fmt: str, sort: str | None, bootstrap: bool, resamples: int,
              out: Path | None, data: str | None, results: Path, benchmark: str | None,
              benchmark_hash: str | None) -> None:
    """Compare methods: mean ± std over seeds, delta vs the reference, Holm-corrected p-values, costs."""
    from sedbench.io import atomic_write_text
    from sedbench.report.tables import load_comparison, print_table, render

    kwargs = dict(benchmark=benchmark, benchmark_hash=benchmark_hash, bootstrap=bootstrap,
                  n_resamples=resamples, sort=sort, data=data)
    if out is None:
        print_table(results, metric, reference=reference, console=console, fmt=fmt, **kwargs)
        return
    table = load_comparison(results, metric, reference, **kwargs)
    atomic_write_text(out, render(table, "markdown" if fmt == "rich" else fmt))
    console.print(f"wrote {out}")


@cli.group()
def plot() -> None:
    """PNG plots: Pareto front, PSD-ROC curves, per-class PSDS."""


plot_out_option = click.option("--out", type=click.Path(path_type=Path), default=None,
                               help="PNG path [default: RESULTS/plots/NAME.png].")


def _plot_out(out: Path | None, results: Path, name: str) -> Path:
    return out if out is not None else results / "plots" / f"{name}.png"


def _load_results(results: Path):
    from sedbench.errors import SedbenchError
    from sedbench.results import load

    df = load(results)
    if df.empty:
        raise SedbenchError(f"no run records in {results}: `sedbench run` produces them")
    return df


@plot.command("pareto")
@click.option("--metric", default="psds1", show_default=True)
@click.option("--x", "cost", default="macs", show_default=True,
              help="macs, params, latency, latency_all, ...")
@plot_out_option
@results_options
def plot_pareto(metric: str, cost: str, out: Path | None, results: Path, benchmark: str | None,
                benchmark_hash: str | None) -> None:
    """Metric against a cost, mean ± std over seeds, the Pareto front connected."""
    from sedbench.report import plots

    out = _plot_out(out, results, f"pareto-{metric}-{cost}")
    path = plots.pareto(_load_results(results), out, metric, cost, benchmark, benchmark_hash)
    console.print(f"wrote {path}")


@plot.command("psdroc")
@click.option("--metric", type=click.Choice(["psds1", "psds2"]), default="psds1", show_default=True)
@click.option("--methods", default=None, help="Comma list [default: all].")
@click.option("--seed", type=int, default=None,
              help="Seed whose runs to plot [default: the first common one].")
@plot_out_option
@results_options
def plot_psdroc(metric: str, methods: str | None, seed: int | None, out: Path | None, results: Path,
                benchmark: str | None, benchmark_hash: str | None) -> None:
    """PSD-ROC curves of chosen methods, from their stored scores."""
    from sedbench.report import plots

    runs = plots.runs_for_seed(_load_results(results), methods.split(",") if methods else None, seed,
                               benchmark, benchmark_hash)
    path = plots.psd_roc(runs, _plot_out(out, results, f"psdroc-{metric}"), metric)
    console.print(f"wrote {path}")


@plot.command("per-class")
@click.option("--metric", type=click.Choice(["psds1", "psds2", "event_f1"]), default="psds1",
              show_default=True)
@click.option("--methods", default=None, help="Comma list [default: all].")
@plot_out_option
@results_options
def plot_per_class(metric: str, methods: str | None, out: Path | None, results: Path, benchmark: str | None,
                   benchmark_hash: str | None) -> None:
    """Per-class bars grouped by class, one bar per method."""
    from sedbench.report import plots

    path = plots.per_class(_load_results(results), _plot_out(out, results, f"per-class-{metric}"), metric,
                           methods.split(",") if methods else None, benchmark, benchmark_hash)
    console.print(f"wrote {path}")


def main() -> None:
    """Console-script entry point."""
    debug = "--debug" in sys.argv[1:]
    try:
        # Commands may return an int exit code (e.g. `run` returns 1 when a run failed).
        rc = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
