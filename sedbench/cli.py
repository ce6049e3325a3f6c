"""The sedbench command line: thin click commands over the Python API.

Every command catches user mistakes (SedbenchError, click usage errors) and prints one line on
stderr with a non-zero exit code; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import errno
import math
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from sedbench import __version__
from sedbench.config import MAX_SEED
from sedbench.errors import SedbenchError
from sedbench.report.console import say

console = Console()
err_console = Console(stderr=True)


# what the machine refuses to write: said in one line (every write goes to a temporary file first, so
# what was already written stands)
_WRITE_REFUSED = {errno.ENOSPC: "free some disk space", errno.EDQUOT: "free some of your disk quota",
                  errno.EROFS: "give a writable folder", errno.EACCES: "check its permissions"}


class SedbenchGroup(click.Group):
    """Turns SedbenchError (and a full or read-only disk) into a one-line message unless --debug is on."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SedbenchError, OSError) as exc:
            if (ctx.obj and ctx.obj.get("debug")) or (isinstance(exc, OSError) and exc.errno not in _WRITE_REFUSED):
                raise
            if isinstance(exc, OSError):
                where = Path(exc.filename) if exc.filename else None
                if where is not None and where.name.startswith("."):  # a temporary or lock file: its folder
                    where = where.parent
                exc = SedbenchError(f"{where or 'a file'}: {exc.strerror}; {_WRITE_REFUSED[exc.errno]} and "
                                    "run the command again (what was written before is unchanged)")
            say(err_console, "[bold red]error:[/]", exc)
            sys.exit(2)


# a folder option (results, cache, data): a file there is said as one line before any work
FOLDER = click.Path(file_okay=False, path_type=Path)


class OutputFile(click.Path):
    """A file a command writes, checked before the work: not a folder, its folder not a file, and (for
    plots) a suffix naming a format the writer knows (``formats``: called only then, matplotlib is slow to
    import)."""

    def __init__(self, example: str, formats: Callable[[], list[str]] | None = None) -> None:
        super().__init__(path_type=Path)
        self.example, self.formats = example, formats

    def convert(self, value, param, ctx) -> Path:
        path = super().convert(value, param, ctx)
        if path.is_dir():
            self.fail(f"{path} is a folder; give a file name, e.g. {path / self.example}", param, ctx)
        blocked = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocked is not None:
            self.fail(f"{path}: {blocked} is a file, not a folder; give a path in a folder", param, ctx)
        if self.formats is not None and path.suffix.lower().lstrip(".") not in self.formats():
            self.fail(f"{path}: give a name ending in one of {', '.join(self.formats())}, e.g. {self.example}",
                      param, ctx)
        return path


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
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True, help="Generator seed.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: data/desed-synth/<preset>-seed<seed>].")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: every core]; the files are identical whatever the number.")
@click.option("--force", is_flag=True, help="Regenerate even if a complete dataset is already there.")
def data_synth(preset: str, seed: int, out: Path | None, jobs: int | None, force: bool) -> None:
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
_plugin_file_option = click.option("--plugin", "plugins", multiple=True, type=click.Path(path_type=Path),
                                   help="A method plugin file to load (repeatable).")
_override_option = click.option("--override-methods", is_flag=True, expose_value=False, is_eager=True,
                                callback=lambda ctx, param, value: _allow_override(value),
                                help="Let a plugin replace a registered method of the same name.")


def _allow_override(value: bool) -> None:
    if value:
        from sedbench.methods import allow_override

        allow_override(True)


def plugin_option(fn):
    return _plugin_file_option(_override_option(fn))


@cli.command("methods")
@click.argument("name", required=False)
@click.option("--profile", default=None, help="The profile whose teachers and method settings are shown "
              "[default: full with a GPU, quick without, as `sedbench run`].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a profile value (repeatable).")
@plugin_option
def methods_cmd(name: str | None, profile: str | None, overrides: tuple[str, ...], plugins: tuple[Path, ...]) -> None:
    """List the registered distillation methods, or describe one in full (NAME).

    The list fits 80 columns and a pipe: one line per name, descriptions wrap at words;
    `sedbench methods NAME` shows the whole docstring and every hyperparameter. Teachers and
    hyperparameters are those a run of the profile uses (its `teacher:`, `teacher_set:`, `methods:`).
    """
    from sedbench.config import default_profile, load_profile
    from sedbench.report.console import describe_method, methods_table

    config = load_profile(profile or default_profile(), overrides)
    console.print(describe_method(name, plugins, config) if name else methods_table(plugins, config))


@cli.command("doctor")
@click.option("--data", type=FOLDER, default=Path("data"), show_default=True,
              help="Where datasets are generated.")
@click.option("--cache", type=FOLDER, default=Path("cache"), show_default=True,
              help="Cache folder (features, teacher zoo).")
@click.option("--results", type=FOLDER, default=Path("results"), show_default=True,
              help="Results folder.")
@click.option("--quiet", is_flag=True, help="Print only problems (for scripts: `make benchmark` runs this).")
def doctor_cmd(data: Path, cache: Path, results: Path, quiet: bool) -> None:
    """Check the installed stack, the device, the CPU and the disk; exit 1 with a one-line fix."""
    from rich.table import Table

    from sedbench.doctor import diagnose

    checks = diagnose(data, cache, results)
    failed = [c for c in checks if c.status == "fail"]
    if not quiet:
        table = Table(show_header=False, box=None, pad_edge=False)
        style = {"ok": "green", "warn": "yellow", "fail": "bold red"}
        for c in checks:
            table.add_row(f"[{style[c.status]}]{c.status}[/]", c.name, c.detail)
        console.print(table)
    for c in failed:
        say(err_console, "[bold red]error:[/]", f"{c.name}: {c.detail}; {c.fix}")
    if failed:
        sys.exit(1)


# ------------------------------------------------------------------------------ run / evaluate
def _benchmark(profile: str | None, overrides: tuple[str, ...], results: Path, cache: Path, device: str | None,
               jobs: int = 1, threads: int | None = None, dry_run: bool = False):
    from sedbench.benchmark import Benchmark
    from sedbench.config import default_profile

    return Benchmark.from_profile(profile or default_profile(), overrides, results_root=results,
                                  cache_root=cache, device=device, jobs=jobs, threads=threads, dry_run=dry_run)


profile_options = [
    click.option("--profile", default=None, help="Benchmark profile: tiny, quick, full or a YAML path "
                 "[default: full with a GPU, quick without]."),
    click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                 help="Override a profile value, e.g. --set training.steps=200 (repeatable)."),
    click.option("--results", type=FOLDER, default=Path("results"), show_default=True,
                 help="Results folder."),
    click.option("--cache", type=FOLDER, default=Path("cache"), show_default=True,
                 help="Cache folder (features, teacher zoo)."),
    click.option("--device", default=None, help="torch device [default: cuda when available, else cpu]."),
    click.option("--threads", type=click.IntRange(1), default=None,
                 help="torch CPU threads per process [default: the CPUs / --jobs]. On CPU the thread count "
                 "changes a trained model's bits, so teachers and runs are keyed by it."),
]


def with_profile_options(fn):
    for option in reversed(profile_options):
        fn = option(fn)
    return fn


@cli.command("run")
@click.option("--methods", "methods_spec", default="all", show_default=True,
              help="'all', a comma list, or globs (e.g. 'scratch,*kd').")
@click.option("--seeds", default=None,
              help="A count (3 -> 0,1,2) or a comma list (0,4,7; seed 2 alone: 2,) [default: the profile's].")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="Parallel local processes.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray).")
@click.option("--gpus-per-run", type=click.FloatRange(0), default=None, callback=lambda c, p, v: _finite(c, p, v),
              help="With --executor ray: the GPU share of one run [default: 0.25 when the cluster has GPUs].")
@click.option("--force", is_flag=True, help="Re-run pairs whose results are already complete.")
@click.option("--dry-run", is_flag=True, help="Print the run matrix and what is cached; train nothing.")
@click.option("--no-table", is_flag=True, help="Do not print the comparison table nor write the report at the end.")
@with_profile_options
@plugin_option
def run_cmd(methods_spec: str, seeds: str | None, jobs: int, executor: str, address: str | None,
            gpus_per_run: float | None, force: bool,
            dry_run: bool, no_table: bool, profile: str | None, overrides: tuple[str, ...], results: Path,
            cache: Path, device: str | None, threads: int | None, plugins: tuple[Path, ...]) -> int:
    """Run the benchmark: data, teachers, then every (method, seed) pair, then the table."""
    from sedbench import runner

    if executor == "ray" and threads is None:
        threads = 1  # one CPU per Ray task unless asked otherwise
    bench = _benchmark(profile, overrides, results, cache, device, jobs, threads, dry_run)
    plugins = tuple(str(p) for p in plugins)
    methods = runner.resolve_methods(methods_spec, plugins)
    seed_list = runner.resolve_seeds(seeds, bench)
    runner.check_method_settings(bench, plugins)
    runner.teachers_needed(methods, bench, plugins)  # a teacher the profile lacks: one line, before anything
    if dry_run:
        _print_matrix(bench, methods, seed_list, plugins, force)
        _print_estimate(bench, methods, seed_list, jobs, plugins, force)
        return 0
    console.print(f"[bold]sedbench[/] profile [cyan]{escape(bench.name)}[/] on {bench.device} "
                  f"({bench.threads} thread(s) per process): "
                  f"{len(methods)} method(s) x {len(seed_list)} seed(s) -> {escape(str(results))}")
    for note in runner.control_notes(bench, methods, seed_list, plugins):
        say(console, "[yellow]note[/]", note)
    if bench.dataset_exists:
        for status, pairs in runner.unfinished_pairs(bench, methods, seed_list, plugins, force).items():
            again = f"{'they train' if len(pairs) > 1 else 'it trains'} again"
            why = (f"{again}; the damaged folder is kept aside, hidden (.seed-N.damaged-<time>)" if status == "damaged"
                   else f"{again} from the step in brackets (the last validation it reached; --force: step 0)")
            label = "damaged run record" if status == "damaged" else f"{status} earlier"
            say(console, "[yellow]note[/]", f"{label}: {', '.join(pairs)}; {why}")
    _print_expected_time(bench, methods, seed_list, jobs, plugins, force)
    summaries = runner.run_matrix(bench, methods, seed_list, jobs=jobs, executor=executor, address=address,
                                  force=force, gpus_per_run=gpus_per_run, plugins=plugins, console=console)
    failed = [s for s in summaries if s["status"] != "complete"]
    by_error: dict[str, list[str]] = {}  # a teacher that failed fails every pair that needs it: say it once
    for s in failed:
        by_error.setdefault(str(s.get("error")), []).append(f"{s['method']} seed {s['seed']}")
    for error, pairs in by_error.items():
        say(err_console, "[red]failed[/]", f"{', '.join(pairs)}: {error}")
    traced = next((s["run_dir"] for s in failed if s.get("run_dir") and _has_traceback(s["run_dir"])), None)
    if traced:  # said once: where a plugin author finds the line that failed
        err_console.print(f"the traceback of a failed run is in its run.json (`traceback`), e.g. "
                          f"{Path(traced) / 'run.json'}", highlight=False, soft_wrap=True)
    for teacher, error in bench.teacher_errors.items():  # when no pair above says it
        if not any(error in failure for failure in by_error):
            say(err_console, "[red]failed[/]", f"{teacher}: {error}")
    for note in dict.fromkeys(n for s in summaries for n in (s.get("notes") or [])):  # each said once
        say(console, "[yellow]note:[/]", note)
    _print_outcome(bench, summaries)
    if not no_table:
        from sedbench.errors import SedbenchError
        from sedbench.report.html import write_report
        from sedbench.report.tables import print_table

        # the table shows the whole settings group (earlier commands' methods too), against the
        # profile's reference and each method's control; without the reference it says so
        reference = bench.config.get("reference", "scratch")
        try:
            # seeds are the replicates: with one seed the table shows no method-level p and says why
            print_table(results, metric="psds1", benchmark=bench.name, benchmark_hash=bench.benchmark_hash,
                        reference=reference, against=("reference", "control"), console=console)
        except SedbenchError as exc:  # e.g. no run completed: say why instead of a table
            say(err_console, "[bold red]no table:[/]", exc)
            return 1
        report = write_report(results, benchmark=bench.name, benchmark_hash=bench.benchmark_hash, reference=reference)
        console.print(f"report: {report} (the newest also at {results / 'report.html'})", highlight=False,
                      soft_wrap=True)
    return 1 if failed else 0


def _has_traceback(run_dir: str) -> bool:
    from sedbench.errors import SedbenchError
    from sedbench.results import record_or_none

    try:
        return bool((record_or_none(run_dir) or {}).get("traceback"))
    except SedbenchError:  # a damaged record is said elsewhere
        return False


def _print_outcome(bench, summaries: list[dict]) -> None:
    """One line of what this process did: trained, found cached, waited for another process, failed."""
    trained = sum(1 for s in summaries if s["status"] == "complete" and not s.get("skipped"))
    cached = sum(1 for s in summaries if s.get("skipped") and not s.get("waited"))
    waited = sum(1 for s in summaries if s.get("skipped") and s.get("waited"))
    failed = sum(1 for s in summaries if s["status"] != "complete")
    teachers = bench.teacher_outcomes
    line = f"pairs: {trained} trained, {cached} cached, {waited} done by another process, {failed} failed"
    if teachers:
        line += "; teachers: " + ", ".join(f"{label.removeprefix('teacher ')} {state}"
                                           for label, state in teachers.items())
    console.print(line, highlight=False, soft_wrap=True)


def _estimate(bench, methods: list[str], seeds: list[int], jobs: int, plugins: tuple[str, ...], force: bool):
    from sedbench import plan, runner

    runs, teachers = runner.pending_work(bench, methods, seeds, plugins, force)
    # the step is timed with the threads each run will get (--threads, or the CPUs / --jobs): timed
    # with all the CPUs, a --jobs 2 estimate of quick on 2 cores was 2.5x too short
    with bench.torch_threads():
        return plan.estimate(bench.config, student_runs=runs, teachers=teachers, jobs=jobs, device=bench.device,
                             cache_root=bench.cache_root, results_root=bench.results_root)


def _print_estimate(bench, methods: list[str], seeds: list[int], jobs: int, plugins: tuple[str, ...],
                    force: bool) -> None:
    """Time and disk this run needs on this machine; a one-line error when the disk is too small."""
    from sedbench import plan

    est = _estimate(bench, methods, seeds, jobs, plugins, force)
    plan.print_estimate(est, console)
    est.check_disk()


def _print_expected_time(bench, methods: list[str], seeds: list[int], jobs: int, plugins: tuple[str, ...],
                         force: bool) -> None:
    """Before a real run, one line of how long it will take here (a quick profile on 2 cores takes hours)."""
    from sedbench import plan

    est = _estimate(bench, methods, seeds, jobs, plugins, force)
    if est.total_seconds >= 60:
        busy = " (timed on a busy machine: too long)" if any("busy" in n for n in est.notes) else ""
        console.print(f"expected on this machine: about {plan.duration(est.total_seconds)}{busy}; "
                      "`--dry-run` shows the stages", highlight=False, soft_wrap=True)


def _pending_label(bench, source, methods: list[str], seed: int, exists: bool, plugins: tuple[str, ...]) -> str:
    """What a pending pair will do. A run that deploys another method's run (``Method.trains_as``)
    trains nothing of its own, unless that run is neither in this matrix nor cached: then it trains
    it inside itself."""
    from sedbench import runner

    if source is None:
        return "will train"
    if source.name in methods or (exists and runner.pair_status(bench, source.name, seed, plugins) == "cached"):
        return f"{source.name}'s network"
    return f"trains {source.name}'s network"


def _print_matrix(bench, methods: list[str], seeds: list[int], plugins: tuple[str, ...], force: bool = False) -> None:
    """What a run would do. Writes nothing: no data generation, no cache or results folder."""
    from rich.table import Table

    from sedbench import runner
    from sedbench.methods import build_method
    from sedbench.teachers import teacher_run_seeds

    table = Table(title=f"run matrix: profile {bench.name}, results {bench.results_root}, "
                        f"{bench.threads} thread(s) per process")
    table.add_column("method", no_wrap=True)
    for seed in seeds:
        table.add_column(f"seed {seed}")
    exists = bench.dataset_exists
    labels = {"cached": "[green]cached[/]", "running": "[yellow]running elsewhere[/]", "pending": "will train",
              "damaged": "[red]damaged record: again[/]"}
    for method in methods:
        built = build_method(method, runner.method_overrides(bench, method, plugins), plugins)
        source = runner.shared_source(bench, built, plugins)
        pending = {s: _pending_label(bench, source, methods, s, exists, plugins) for s in seeds}
        statuses = {s: runner.pair_status(bench, method, s, plugins) if exists else "pending" for s in seeds}
        table.add_row(method, *[
            pending[s] if status == "pending"
            else f"[{'yellow' if status == 'interrupted' else 'red'}]{status}: from "
                 f"{'step 0' if force else runner.resume_point(bench, method, s, plugins)}[/]"
            if status in ("interrupted", "failed") else labels[status] for s, status in statuses.items()])
    console.print(table)
    if not exists:
        console.print(f"data: desed-synth {bench.config['data'].get('preset', 'quick')} will be generated at "
                      f"{bench.synth_root}", highlight=False)
    needed = runner.teachers_needed(methods, bench, plugins)
    missing = runner.missing_teachers(bench, needed, seeds) if exists else None
    for name in needed:
        for run_seed in teacher_run_seeds(bench, seeds):
            label = runner.teacher_label(bench, name, run_seed)
            if missing is not None and label not in missing:
                console.print(f"{label}: cached")
                continue
            # run's --force trains pairs again, not teachers: a stopped teacher resumes either way
            where = "step 0" if missing is None else runner.teacher_resume_point(bench, name, run_seed)
            console.print(f"{label}: will train" + (f" (from {where})" if where != "step 0" else ""))
    for note in runner.control_notes(bench, methods, seeds, plugins):
        say(console, "[yellow]note[/]", note)




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
@click.option("--cache", type=FOLDER, default=Path("cache"), show_default=True,
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
    elif not (run_dir / "scores").is_dir() and any(run_dir.rglob(RECORD_FILE)):
        raise click.UsageError(f"{run_dir} holds runs but is not one: give one run's folder (…/seed-N) to "
                               "recompute its metrics, or add --data DATA to score every run in it on other data")
    metrics = evaluate_run(run_dir, which=which.split(",") if which else None, update=update)
    if as_json:
        console.print_json(json.dumps(metrics))
        return
    table = Table(title=f"metrics of {run_dir}")
    for col in ("metric", "recomputed", "stored"):
        table.add_column(col, justify="left" if col == "metric" else "right", no_wrap=True)
    for name, value in metrics.items():
        if not isinstance(value, dict):
            old = stored.get(name)
            table.add_row(name, _fmt(value), _fmt(old))
    console.print(table)
    if update:
        console.print(f"updated {run_dir / RECORD_FILE}")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _evaluate_on_data(target: Path, data: Path, split: str, name: str | None, cache: Path, device: str | None,
                      as_json: bool) -> None:
    import json

    from rich import box
    from rich.table import Table

    from sedbench.evaluation.metrics import METRICS
    from sedbench.evaluation.ondata import evaluate_on_data, evaluate_results
    from sedbench.results import RECORD_FILE

    if (target / RECORD_FILE).is_file():
        result = evaluate_on_data(target, data, split, name=name, cache_root=cache, device=device)
        if as_json:
            console.print_json(json.dumps(result.metrics))
            return
        own = result.record.get("metrics") or {}
        table = Table(title=f"{target} on {result.name}")
        for col in ("metric", result.name, "own eval"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for metric in METRICS:
            table.add_row(metric, _fmt(result.metrics.get(metric)), _fmt(own.get(metric)))
        console.print(table)
        runs, skipped, notes = [result], [], result.notes
    else:
        folder = evaluate_results(target, data, split, name=name, cache_root=cache, device=device,
                                  console=err_console)
        runs, skipped, notes = folder.results, folder.skipped, folder.notes
        if as_json:
            console.print_json(json.dumps({str(r.run_dir): r.metrics for r in runs}))
        elif runs:
            # method and seed name a run (its folder path is too long for a terminal); each metric on
            # the new set sits beside the run's own eval figure, which is the comparison people want
            # 3 decimals and short headers keep the table inside 80 columns, where rich would otherwise
            # cut method names short
            # the box's one-space dividers and no padding or edges: 17-letter method names fit 80
            table = Table(title=f"{target} on {runs[0].name}: {len(runs)} run(s) (own eval in brackets)",
                          box=box.SIMPLE_HEAD, padding=0, show_edge=False)
            metrics = {"psds1": "PSDS1", "psds2": "PSDS2", "intersection_f1": "inter. F1", "weak_map": "clip mAP"}
            names = [str(r.record.get("method", r.run_dir)) for r in runs]
            table.add_column("method", no_wrap=True, min_width=max(len(n) for n in names))
            table.add_column("seed", justify="right", no_wrap=True)
            for header in metrics.values():
                table.add_column(header, justify="right", no_wrap=True, min_width=len("0.000 (0.000)"))
            for name, r in zip(names, runs, strict=True):
                own = r.record.get("metrics") or {}
                table.add_row(name, str(r.record.get("seed", "–")),
                              *[f"{_fmt(r.metrics.get(m), 3)} ({_fmt(own.get(m), 3)})" for m in metrics])
            console.print(table)
    for note in notes:
        say(err_console, "[yellow]note:[/]", note)
    for run, why in skipped:
        say(err_console, "[yellow]skipped[/]", f"{run}: {why}")
    if runs and not as_json:
        where = runs[0].out_dir if len(runs) == 1 else f"RUN/evaluations/{runs[0].name}/ of each run"
        console.print(f"wrote {where}; compare with `sedbench table --data {runs[0].name}`", highlight=False,
                      soft_wrap=True)
    if not runs:
        raise SedbenchError(f"no run under {target} could be evaluated on {data}")


def _finite(ctx: click.Context, param: click.Parameter, value: float | None, nonzero: bool = False) -> float | None:
    """A finite number (click's float takes nan and inf; FloatRange lets nan through, nan < 0 being False)."""
    if value is not None and (not math.isfinite(value) or (nonzero and value == 0)):
        what = "finite non-zero" if nonzero else "finite"
        raise click.BadParameter(f"{value} is not a {what} number, e.g. 0.05", ctx, param)
    return value


def _some_metric(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.replace(",", "").strip():  # "" or ",": no table, no family, exit 0 before
        raise click.BadParameter(f"{value!r} names no metric; give one or a comma list, e.g. psds1,psds2", ctx, param)
    return value


# -------------------------------------------------------------------------------------- predict
@cli.command("predict")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=OutputFile("detections.tsv"), default=Path("detections.tsv"), show_default=True,
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

    _refuse_to_overwrite_inputs(out, scores_dir, audio)
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
        if not result.scores and len(result.errors) == 1:  # its one line was said: no echo of it
            sys.exit(2)
        err_console.print(f"{len(result.errors)} file(s) not processed", highlight=False)
        if not result.scores:
            raise SedbenchError("no file could be processed")
        return 1
    return 0


def _refuse_to_overwrite_inputs(out: Path, scores_dir: Path | None, audio: tuple[Path, ...]) -> None:
    """Checked before the work: predict writes the detections file and replaces the scores folder as a
    whole, so neither may be one of the inputs, nor the scores folder a folder that holds other files."""
    from sedbench.data.desed import AUDIO_EXTENSIONS
    from sedbench.evaluation.scores import is_score_file

    inputs = [a.resolve() for a in audio]
    if out.resolve() in inputs or out.name.lower().endswith(AUDIO_EXTENSIONS):
        raise click.BadParameter(f"{out} is audio (or one of the inputs); give the detections a .tsv name",
                                 param_hint="--out")
    if scores_dir is None:
        return
    target = scores_dir.resolve()
    if target.is_file() or scores_dir.name in ("", ".", ".."):
        raise click.BadParameter(f"{scores_dir} is not a new folder; give a folder name, e.g. scores/",
                                 param_hint="--scores")
    if any(a == target or target in a.parents for a in inputs):
        raise click.BadParameter(f"{scores_dir} holds input audio and would be replaced as a whole; give the "
                                 "scores a folder of their own", param_hint="--scores")
    if target.is_dir():  # an earlier predict's scores may be replaced; anything else is the user's
        foreign = next((e.name for e in sorted(target.iterdir()) if not is_score_file(e)), None)
        if foreign is not None:
            raise click.BadParameter(f"{scores_dir} holds other files (e.g. {foreign}) and would be replaced "
                                     "as a whole; give a new or empty folder", param_hint="--scores")


# ------------------------------------------------------------------------------------- teachers
@cli.group()
def teachers() -> None:
    """The teacher zoo: train the profile's teachers once, list them with their scores."""


@teachers.command("train")
@click.option("--only", "names", multiple=True, help="Train only this teacher (repeatable).")
@click.option("--force", is_flag=True, help="Retrain even if cached.")
@click.option("--seeds", default=None, help="With teacher_seeds: per_run, train the teachers of these run seeds "
              "too (a count or a comma list) [default: the shared teachers only].")
@with_profile_options
def teachers_train(names: tuple[str, ...], force: bool, seeds: str | None, profile: str | None,
                   overrides: tuple[str, ...], results: Path, cache: Path, device: str | None,
                   threads: int | None) -> None:
    """Train (or reuse) the profile's teachers and cache their outputs."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from sedbench.progress import progress_bars
    from sedbench.runner import resolve_seeds
    from sedbench.teachers import teacher_run_seeds, teacher_spec
    from sedbench.training.fit import train_teacher

    bench = _benchmark(profile, overrides, results, cache, device, threads=threads)
    chosen = list(names) or list(bench.config.get("teachers", {}))
    for name in chosen:
        teacher_spec(bench, name)  # unknown names fail before any training
    run_seeds = teacher_run_seeds(bench, resolve_seeds(seeds, bench)) if seeds else [None]
    with progress_bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=console) as progress:
        bench.progress = progress
        for run_seed in run_seeds:
            for name in chosen:
                train_teacher(bench, name, progress=progress, force=force, run_seed=run_seed)
    _print_teachers(bench)


@teachers.command("list")
@with_profile_options
def teachers_list(profile: str | None, overrides: tuple[str, ...], results: Path, cache: Path,
                  device: str | None, threads: int | None) -> None:
    """List the profile's teachers: trained or not, parameters, validation PSDS."""
    _print_teachers(_benchmark(profile, overrides, results, cache, device, threads=threads))


def _print_teachers(bench) -> None:

    from rich.table import Table

    from sedbench.teachers import read_teacher_info, teacher_dir, teachers_table

    df = teachers_table(bench)
    table = Table(title=f"teachers of profile {bench.name} ({bench.threads} thread(s))")
    for col in ("teacher", "model", "trained", "params", "psds1", "psds2", "train_s"):
        table.add_column(col, no_wrap=True)
    for _, row in df.iterrows():
        fmt = [row["teacher"], row["model"], "yes" if row["trained"] else "no"]
        for col, spec in (("params", ",.0f"), ("psds1", ".3f"), ("psds2", ".3f"), ("train_s", ".0f")):
            value = row.get(col)
            fmt.append("-" if value is None or value != value else format(value, spec))
        table.add_row(*fmt)
    console.print(table)
    for _, row in df[df["note"] != ""].iterrows() if len(df) else []:
        console.print(f"{row['teacher']}: {row['note']}", highlight=False, soft_wrap=True)
    for name in df.loc[df["trained"], "teacher"] if len(df) else []:
        info = read_teacher_info(teacher_dir(bench, name))
        history = info["validation"].get("history") or []
        if history:  # the selection score by step: [primary criterion, tie-breaker] or one number
            first = [h["val_score"][0] if isinstance(h["val_score"], list) else h["val_score"] for h in history]
            console.print(f"{name} validation score by step: " + ", ".join(
                f"{h['step']} {v:.3f}" for h, v in zip(history, first, strict=True))
                + f" (kept step {info['validation'].get('best_step')})", highlight=False)
            if len(history) > 2 and info["validation"].get("best_step") == history[-1]["step"]:
                # the curve has not turned: it says how many steps this teacher needs, not the zoo's schedule
                console.print(f"{name} kept its last check, so it may still be improving: a longer schedule for "
                              f"it alone is --set teachers.{name}.training.steps=N", highlight=False)
        per_class = info["validation"].get("per_class_psds1", {})
        if per_class:
            console.print(f"{name} per-class PSDS1: " + ", ".join(
                f"{c} {'-' if v is None else format(v, '.2f')}" for c, v in per_class.items()))
    _print_teacher_margins(bench, df)


def _print_teacher_margins(bench, teachers) -> None:
    """How far each trained teacher is above this settings group's scratch students (both at the
    validation checkpoint they kept): a teacher barely above them leaves KD little to show."""
    from sedbench.results import kept_validation

    students, notes = kept_validation(bench.results_root, bench.name, bench.benchmark_hash)
    trained = teachers[teachers["trained"] & teachers["psds1"].notna()] if "psds1" in teachers else teachers[:0]
    if students.empty or trained.empty:
        return
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    margins = ", ".join(f"{row['teacher']} {row['psds1'] - students.mean():+.3f}" for _, row in trained.iterrows())
    console.print(f"scratch students of this settings group ({len(students)} seed(s), {bench.results_root}) keep "
                  f"validation PSDS1 {students.mean():.3f} ({students.min():.3f}-{students.max():.3f}); teacher "
                  f"minus students: {margins}. `python benchmarks/teacher_draws.py` tests a margin over teacher "
                  "seeds", highlight=False)




# -------------------------------------------------------------------------------------- profile
POSITIVE = click.IntRange(1)

@cli.command("profile")
@click.argument("target")
@click.option("--n-mels", default=128, type=POSITIVE, show_default=True, help="Mel bands (model name only).")
@click.option("--hop-length", default=256, type=POSITIVE, show_default=True, help="STFT hop (model name only).")
@click.option("--n-fft", default=2048, type=POSITIVE, show_default=True, help="STFT size = window (model name only).")
@click.option("--n-classes", default=10, type=POSITIVE, show_default=True, help="Classes (model name only).")
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
                     help="Results folder (or one run.json)."),
        click.option("--benchmark", default=None, help="Benchmark name (needed when results hold several)."),
        click.option("--hash", "benchmark_hash", default=None,
                     help="Benchmark settings hash (prefix) [default: the newest]."),
    ]):
        fn = option(fn)
    return fn


def stats_options(fn):
    """Options shared by `table` and `plot forest`: what is compared and how it is tested."""
    for option in reversed([
        click.option("--metric", default="psds1", show_default=True, callback=_some_metric,
                     help="Metric column, or a comma list tested as one family: psds1, psds2, event_f1, weak_map, "
                          "params, macs, latency, train_s..."),
        click.option("--reference", default="scratch", show_default=True,
                     help="Method every other is compared with."),
        click.option("--against", default="reference", show_default=True,
                     help="reference, control (each method vs its own control) or reference,control."),
        click.option("--pairwise", is_flag=True, help="Every pair of methods instead (a method x method matrix)."),
        click.option("--ci", type=click.Choice(["auto", "hierarchical", "t"]), default="auto", show_default=True,
                     help="CI of the mean paired difference: hierarchical bootstrap (seeds, then clips) where "
                          "score files exist, or the paired t interval."),
        click.option("--resamples", default=10_000, show_default=True, type=click.IntRange(10),
                     help="Bootstrap resamples (hierarchical and clip bootstrap)."),
        click.option("--effect", type=float, default=None, callback=lambda c, p, v: _finite(c, p, v, nonzero=True),
                     help="Report the seeds needed to detect this difference [default: the observed one]."),
        click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
                     show_default=True, help="Significance level of the verdicts (Holm-adjusted p)."),
    ]):
        fn = option(fn)
    return fn


@cli.command("table")
@stats_options
@click.option("--format", "fmt", type=click.Choice(["rich", "markdown", "latex", "csv", "json"]),
              default="rich", show_default=True)
@click.option("--sort", default=None, help="Column to sort by [default: the metric, best first].")
@click.option("--clip-bootstrap", "--bootstrap", "clip_bootstrap", is_flag=True,
              help="Add the clip-level bootstrap of the same checkpoints (eval-set uncertainty; psds1/psds2). "
                   "It describes trained models, not methods.")
@click.option("--out", type=OutputFile("table.md"), default=None,
              help="Write to this file instead (rich becomes markdown).")
@click.option("--data", default=None,
              help="Compare on another data set: the metrics of `sedbench evaluate RUN --data` with this name.")
@results_options
def table_cmd(metric: str, reference: str, against: str, pairwise: bool, ci: str, resamples: int,
              effect: float | None, alpha: float, fmt: str, sort: str | None, clip_bootstrap: bool, out: Path | None,
              data: str | None, results: Path, benchmark: str | None, benchmark_hash: str | None) -> None:
    """Compare methods over seeds: mean ± std, paired deltas with CIs, raw and Holm-adjusted p, MDE, costs."""
    from sedbench.io import atomic_write_text
    from sedbench.report.tables import load_comparisons, load_pairwise, print_table, render_many, render_pairwise

    stats = dict(benchmark=benchmark, benchmark_hash=benchmark_hash, ci=ci, n_resamples=resamples, effect=effect,
                 alpha=alpha, data=data)
    kwargs = dict(stats, against=against, clip_bootstrap=clip_bootstrap, sort=sort)
    _check_reference(reference, results)
    if out is None:
        print_table(results, metric, reference=reference, console=console, fmt=fmt, pairwise=pairwise, **kwargs)
        return
    fmt = "markdown" if fmt == "rich" else fmt
    if pairwise:
        text = render_pairwise(load_pairwise(results, metric, **stats), fmt)
    else:
        text = render_many(load_comparisons(results, metric, reference, **kwargs), fmt)
    atomic_write_text(out, text)
    console.print(f"wrote {out}")


@cli.group()
def plot() -> None:
    """PNG plots: metric vs cost (Pareto), ranked methods, forest plot of deltas, PSD-ROC curves, per-class PSDS."""


def _plot_formats() -> list[str]:
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


plot_out_option = click.option("--out", type=OutputFile("plot.png", _plot_formats), default=None,
                               help="PNG path [default: RESULTS/BENCHMARK/HASH/plots/NAME.png, the group's own].")


def _plot_out(out: Path | None, df, results: Path, name: str, benchmark: str | None,
              benchmark_hash: str | None) -> Path:
    """The group's own plots folder, RESULTS/BENCHMARK/HASH/plots: another profile's plot of the same
    name never replaces it. ``df``: the loaded results (read once per command)."""
    if out is not None:
        return out
    from sedbench.results import select_comparable

    runs, _ = select_comparable(df, benchmark, benchmark_hash)
    if runs.empty:  # the plot itself says why there is nothing to draw
        return results / "plots" / f"{name}.png"
    return results / str(runs["benchmark"].iloc[0]) / str(runs["benchmark_hash"].iloc[0]) / "plots" / f"{name}.png"


def _load_results(results: Path):
    from sedbench.errors import SedbenchError
    from sedbench.results import load

    df = load(results)
    if df.empty:
        raise SedbenchError(f"no run records in {results}: `sedbench run` produces them")
    return df


def _check_reference(reference: str | None, results: Path, df=None) -> None:
    """A --reference the user typed must name a method with records here: a typo would otherwise give a
    table without deltas and a footnote. The default (scratch) may be absent: the table says so. The
    records are read only for a typed name (``df``: the ones the command has already read)."""
    import difflib

    from click.core import ParameterSource

    if reference is None or click.get_current_context().get_parameter_source("reference") == ParameterSource.DEFAULT:
        return
    methods = sorted((_load_results(results) if df is None else df)["method"].unique())
    if reference not in methods:
        close = difflib.get_close_matches(reference, methods, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"methods with records: {', '.join(methods)}"
        raise click.BadParameter(f"{reference!r} has no runs in {results}; {hint}", param_hint="'--reference'")


@plot.command("pareto")
@click.option("--metric", default="psds1", show_default=True)
@click.option("--x", "cost", default="train", show_default=True,
              help="train (student + its teachers), train_student, params, params_all, macs, latency, "
                   "latency_all, energy or a numeric column; a cost all methods share gives a ranked plot.")
@plot_out_option
@results_options
def plot_pareto(metric: str, cost: str, out: Path | None, results: Path, benchmark: str | None,
                benchmark_hash: str | None) -> None:
    """Metric against a cost, mean and CI over seeds, the Pareto front drawn."""
    from sedbench.report import plots

    df = _load_results(results)
    out = _plot_out(out, df, results, f"pareto-{metric}-{cost}", benchmark, benchmark_hash)
    path = plots.pareto(df, out, metric, cost, benchmark, benchmark_hash)
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

    df = _load_results(results)
    runs = plots.runs_for_seed(df, methods.split(",") if methods else None, seed, benchmark, benchmark_hash)
    path = plots.psd_roc(runs, _plot_out(out, df, results, f"psdroc-{metric}", benchmark, benchmark_hash), metric)
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

    df = _load_results(results)
    out = _plot_out(out, df, results, f"per-class-{metric}", benchmark, benchmark_hash)
    path = plots.per_class(df, out, metric,
                           methods.split(",") if methods else None, benchmark, benchmark_hash)
    console.print(f"wrote {path}")



@plot.command("forest")
@stats_options
@plot_out_option
@results_options
def plot_forest(metric: str, reference: str, against: str, pairwise: bool, ci: str, resamples: int,
                effect: float | None, alpha: float, out: Path | None, results: Path, benchmark: str | None,
                benchmark_hash: str | None) -> None:
    """Forest plot: each compared delta with its CI, Holm-adjusted p at the side (what a paper shows)."""
    from sedbench.report import plots
    from sedbench.report.tables import comparison_family

    df = _load_results(results)
    _check_reference(reference, results, df)
    long = comparison_family(df, metric, reference, against=against, pairwise=pairwise,
                             benchmark=benchmark, benchmark_hash=benchmark_hash, ci=ci, n_resamples=resamples,
                             effect=effect, alpha=alpha)
    name = f"forest-{metric.replace(',', '-')}" + ("-pairwise" if pairwise else "")
    path = plots.forest(long, _plot_out(out, df, results, name, benchmark, benchmark_hash))
    console.print(f"wrote {path}")


@plot.command("ranked")
@click.option("--metric", default="psds1", show_default=True)
@click.option("--reference", default="scratch", show_default=True, help="Method whose mean is drawn as a line.")
@plot_out_option
@results_options
def plot_ranked(metric: str, reference: str, out: Path | None, results: Path, benchmark: str | None,
                benchmark_hash: str | None) -> None:
    """Methods ranked by the metric: every seed, and the mean with its CI over seeds."""
    from sedbench.report import plots

    df = _load_results(results)
    _check_reference(reference, results, df)
    out = _plot_out(out, df, results, f"ranked-{metric}", benchmark, benchmark_hash)
    path = plots.ranked(df, out, metric, benchmark, benchmark_hash, reference=reference)
    console.print(f"wrote {path}")


@cli.command("report")
@click.option("--out", type=OutputFile("report.html"), default=None,
              help="HTML file to write [default: RESULTS/BENCHMARK/HASH/report.html, copied to RESULTS/report.html].")
@click.option("--reference", default=None, help="Method every other is compared with [default: scratch].")
@click.option("--resamples", default=10_000, show_default=True, type=click.IntRange(10),
              help="Bootstrap resamples (the hierarchical CI over seeds and clips; the clip bootstrap with one seed).")
@results_options
def report_cmd(out: Path | None, reference: str | None, resamples: int, results: Path, benchmark: str | None,
               benchmark_hash: str | None) -> None:
    """One self-contained HTML report: tables, verdicts, figures, teachers, runs, environment."""
    from sedbench.report.html import write_report

    _check_reference(reference, results)
    path = write_report(results, out, benchmark=benchmark, benchmark_hash=benchmark_hash, reference=reference,
                        n_resamples=resamples)
    newest = "" if out is not None else f" (the newest also at {results / 'report.html'})"
    console.print(f"report: {path}{newest}", highlight=False, soft_wrap=True)


def _exit_interrupted(cause: BaseException | None) -> None:
    """Ctrl-C exits 130, SIGTERM (sedbench.errors.Terminated) 143, each saying which it was."""
    from sedbench.errors import Terminated

    terminated = isinstance(cause, Terminated)
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    resumes = ""
    if command in ("run", "teachers") and "--force" in sys.argv:  # --force deletes what a resume would read
        resumes = ("; the same command starts from step 0 again (--force); without --force, finished pairs and "
                   "teachers are kept and a training in progress goes on from its last validation (a finished "
                   "pair that was being trained again keeps its earlier result)")
    elif command in ("run", "teachers"):
        resumes = ("; the same command resumes (finished pairs and teachers are kept, a training in progress goes "
                   "on from its last validation)")
    err_console.print(("terminated (SIGTERM)" if terminated else "interrupted") + resumes, highlight=False)
    sys.exit(143 if terminated else 130)


def main() -> None:
    """Console-script entry point."""
    from sedbench.report.console import one_line_warnings

    debug = "--debug" in sys.argv[1:]
    one_line_warnings(err_console, debug=debug)
    from sedbench.errors import terminate_as_interrupt

    terminate_as_interrupt()
    try:
        # Commands may return an int exit code (e.g. `run` returns 1 when a run failed).
        rc = cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt (and our SIGTERM) into Abort
        _exit_interrupted(exc.__context__)
    except click.ClickException as exc:
        if debug:
            raise
        say(err_console, "[bold red]error:[/]", exc.format_message())
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _exit_interrupted(exc)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
