"""Run records and the results store (SPEC 8).

A run is (benchmark, method, seed) under given settings; its record ``run.json`` lives in
``<results_root>/<benchmark>/<benchmark_hash>/<method>/<variant>/seed-<n>/`` next to its score files
(``sedbench.runner.run_identity``). ``benchmark_hash`` is the settings every method shares; the
variant adds what is the method's own (hyperparameters, source) and how it executed (threads,
device, torch), so runs of different settings live side by side and none replaces another. Code
that needs a run's folder takes it from the ``run_dir`` column of ``load``, never builds it.

Runs are comparable only within one (benchmark, benchmark_hash) group: ``load`` returns every
record, ``select_comparable`` picks one group (and one variant per method) and keeps completed runs.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from sedbench import __version__
from sedbench.errors import SedbenchError, SedbenchWarning
from sedbench.io import atomic_write_json
from sedbench.provenance import code_state
from sedbench.stack import cpu_label, cpu_name

RECORD_FILE = "run.json"
SCHEMA_VERSION = 1
ID_COLUMNS = [
    "benchmark",
    "benchmark_hash",
    "config_hash",
    "variant_hash",
    "method",
    "seed",
    "status",
    "error",
    "run_dir",
    "started",
    "finished",
    "recorded",
]
# what pairs a run with its control and names its teachers (sedbench.runner.comparison_fields); older
# records lack them, so they become columns only when present
COMPARISON_COLUMNS = ("control", "is_control", "teachers", "profile_teacher", "teacher_seeds", "teacher_seed")
# record["complexity"]["latency"][setting] (sedbench.complexity.measure_latency) -> column prefix
LATENCY_COLUMNS = {"cpu_1_thread": "latency_cpu_1t", "cpu_all_threads": "latency_cpu_all", "cuda": "latency_cuda"}
LATENCY_FIELDS = {"median_ms": "_ms", "iqr_ms": "_iqr_ms", "cv": "_cv", "cpu_median_ms": "_cpu_ms"}
# At one thread an idle machine gives a wall time within a few % of the process's CPU time (0.999, and
# 1.022 with features, measured by `sedbench profile` on the 2-core EPYC); a wall time this much above it
# was timed while other work shared the core, so it counts the time the process waited to run.
CONTENDED_WALL_TO_CPU = 1.25


def busy_latency(latency: dict | None) -> dict | None:
    """The 1-thread model timing of a ``latency`` section when it was timed on a busy CPU, else None."""
    timing = ((latency or {}).get("cpu_1_thread") or {}).get("model") or {}
    wall, cpu = timing.get("median_ms"), timing.get("cpu_median_ms")
    ok = all(isinstance(v, int | float) and v == v and v > 0 for v in (wall, cpu))
    return timing if ok and wall > CONTENDED_WALL_TO_CPU * cpu else None


def run_dir(results_root: str | os.PathLike, benchmark: str, method: str, seed: int,
            settings: str | None = None, variant: str | None = None) -> Path:
    """``<root>/<benchmark>/[<settings>/]<method>/[<variant>/]seed-<n>``; the runner passes both."""
    base = Path(results_root) / benchmark
    if settings:
        base = base / settings
    base = base / method
    if variant:
        base = base / variant
    return base / f"seed-{int(seed)}"


def write_record(run_dir: str | os.PathLike, record: dict) -> Path:
    """Write ``run.json`` atomically: a reader sees the old record or the new one, never half of one."""
    record = dict(record)
    record.setdefault("schema_version", SCHEMA_VERSION)
    return atomic_write_json(Path(run_dir) / RECORD_FILE, record)


TIMINGS_DIR = "timings"


TIMINGS_STAMP = "%Y%m%dT%H%M%S.%fZ"


def write_timings(results_root: str | os.PathLike, benchmark: str, benchmark_hash: str,
                  timings: dict[str, Any]) -> Path:
    """Keep one `sedbench run`'s stage timings beside its settings group, never over another run's.

    Each run writes ``<results>/<benchmark>/<hash>/timings/<UTC time written>-<pid>.json`` when it
    ends: a later resume (everything cached, seconds long) or a run of other settings cannot erase the
    stage table of the run that trained the matrix.
    """
    stamp = datetime.now(timezone.utc).strftime(TIMINGS_STAMP)  # sorts in time order
    path = Path(results_root) / benchmark / benchmark_hash / TIMINGS_DIR / f"{stamp}-{os.getpid()}.json"
    return atomic_write_json(path, timings)


def group_timings(results_root: str | os.PathLike, benchmark: str, benchmark_hash: str | None = None,
                  *, trained: bool = True) -> list[Path]:
    """Every `sedbench run`'s stage timings in one settings group, oldest first (the newest group's
    without ``benchmark_hash``). A group is often built by several commands (``--methods vanilla``,
    then ``--methods takd``): each wrote its own file. ``trained``: only the runs that trained
    something (a resume that found everything cached has no training stage) when there are any.
    Falls back to the per-benchmark ``timings.json`` older versions wrote, overwritten by each run."""
    root = Path(results_root) / benchmark
    groups = [root / benchmark_hash] if benchmark_hash else sorted(
        (d for d in root.glob("*") if (d / TIMINGS_DIR).is_dir()), key=lambda d: (d / TIMINGS_DIR).stat().st_mtime)
    files = sorted((groups[-1] / TIMINGS_DIR).glob("*.json")) if groups else []
    if trained:
        files = [f for f in files if _trained_anything(f)] or files
    if files:
        return files
    legacy = root / "timings.json"
    return [legacy] if legacy.is_file() else []


def timings_written(path: str | os.PathLike) -> datetime | None:
    """When ``write_timings`` wrote a file (its command's end), from the file's name; None for other names."""
    try:
        return datetime.strptime(Path(path).name.split("-")[0], TIMINGS_STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def find_timings(results_root: str | os.PathLike, benchmark: str, benchmark_hash: str | None = None,
                 *, trained: bool = True) -> Path | None:
    """The stage timings of one settings group's latest `sedbench run` (see ``group_timings``)."""
    files = group_timings(results_root, benchmark, benchmark_hash, trained=trained)
    return files[-1] if files else None


def read_timings(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """The parsed stage-timings files, in order; an unreadable file is left out (they are advisory)."""
    out = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


def group_stages(timings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stages of every command that built a group (``read_timings``), in command order; with
    several commands, each one's wall-time row says which command it was (``..., command 2``)."""
    out = []
    for i, data in enumerate(timings, 1):
        for stage in data.get("stages", []):
            name = str(stage.get("stage", ""))
            if len(timings) > 1 and name.endswith("(wall)"):
                stage = {**stage, "stage": f"{name}, command {i}"}
            out.append(stage)
    return out


def counts_left_out_workers(timings: dict[str, Any]) -> bool:
    """Whether a command's stage table may leave out teachers and pairs it trained: one stopped with
    worker processes (``--jobs N`` or Ray) before timings format 2, which records what they finished."""
    return bool(timings.get("stopped")) and timings.get("format", 1) < 2 and (
        timings.get("jobs", 1) > 1 or timings.get("executor") == "ray")


def _trained_anything(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "pairs_trained" not in data:  # written before the counts were recorded: read its stages
            return any(str(s.get("stage", "")).endswith(" train") for s in data.get("stages", []))
        if counts_left_out_workers(data):
            return True  # it may have trained
        return bool(data.get("pairs_trained") or data.get("teachers_trained"))
    except (OSError, ValueError, AttributeError):
        return False


class DamagedRecord(SedbenchError):
    """A run.json that is not a readable record (truncated, edited by hand): `sedbench run` trains the
    pair again and keeps the damaged folder aside."""


def read_record(run_dir: str | os.PathLike) -> dict:
    path = Path(run_dir)
    if path.is_dir():
        path = path / RECORD_FILE
    if not path.is_file():
        raise SedbenchError(f"no run record at {path}; run `sedbench run` to produce it")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DamagedRecord(f"{path}: unreadable run record ({exc}); `sedbench run` of that method and seed "
                            "trains it again") from exc
    if not isinstance(record, dict):
        raise DamagedRecord(f"{path}: a run record must be a JSON object; `sedbench run` of that method and "
                            "seed trains it again")
    version = record.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise DamagedRecord(f"{path}: schema_version {version!r} is not a whole number; `sedbench run` of "
                            "that method and seed trains it again")
    if version > SCHEMA_VERSION:
        raise SedbenchError(
            f"{path}: record schema {version} is newer than this sedbench ({SCHEMA_VERSION}); "
            "upgrade sedbench"
        )
    return record


def record_or_none(run_dir: str | os.PathLike) -> dict | None:
    """``read_record`` of a run folder, or None when it has no record (yet)."""
    return read_record(run_dir) if (Path(run_dir) / RECORD_FILE).is_file() else None


# ------------------------------------------------------------------------------------ environment
def environment_info() -> dict[str, Any]:
    """Versions, machine and git state, so a number can be traced to the code and hardware behind it."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "sedbench": __version__,
        "torch": None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": cpu_name(),
        "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(),
        "device": "cpu",
        "cuda": None,
    }
    if "torch" in sys.modules or _importable("torch"):
        import torch

        info["torch"] = torch.__version__
        # the vector kernels torch picked (AVX2, AVX512...): with the processor, what decides the bits
        info["cpu_kernels"] = torch.backends.cpu.get_cpu_capability()
        if torch.cuda.is_available():
            info["device"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
    info.update(code_state())
    return info


def _training_cpu(record: dict) -> str | None:
    """The CPU a CPU-trained run ran on; None for a GPU run or a record without an environment."""
    if (record.get("execution") or {}).get("device") != "cpu" or not record.get("environment"):
        return None
    env = record["environment"]
    return cpu_label(env.get("processor"), env.get("cpu_kernels"))


def _importable(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------- loading
def load(path: str | os.PathLike = "results", benchmark: str | None = None) -> pd.DataFrame:
    """One row per run record under ``path`` (a results root, a benchmark folder or a run folder).

    Columns: the identity (benchmark, benchmark_hash, method, seed, status, run_dir, ...), flattened
    metrics (psds1, psds2, event_f1, ..., ``per_class_psds1.<class>``), validation metrics
    (``val_<name>``), complexity (params, macs, latency_cpu_1t_ms, ...) and timings (train_s, ...).
    Nothing is filtered except by ``benchmark``: records of different benchmarks or hashes stay
    distinct rows; use ``select_comparable`` before comparing.
    """
    root = Path(path)
    if not root.exists():
        return pd.DataFrame(columns=ID_COLUMNS)
    # a hidden folder is work in progress (a re-run beside the run it may replace), not a result
    files = [root] if root.is_file() else sorted(
        f for f in root.rglob(RECORD_FILE) if not any(p.startswith(".") for p in f.relative_to(root).parts))
    rows = []
    for f in files:
        try:
            record = read_record(f)
        except SedbenchError as exc:
            warnings.warn(f"skipped: {exc}", SedbenchWarning, stacklevel=2)
            continue
        if benchmark is not None and record.get("benchmark") != benchmark:
            continue
        rows.append(flatten_record(record, f.parent))
    if not rows:
        return pd.DataFrame(columns=ID_COLUMNS)
    df = pd.DataFrame(rows)
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce").astype("Int64")
    return df.sort_values(["benchmark", "benchmark_hash", "method", "seed"], kind="stable").reset_index(
        drop=True
    )


def flatten_record(record: dict, directory: str | os.PathLike | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {k: record.get(k) for k in ID_COLUMNS if k not in ("run_dir", "recorded")}
    row["run_dir"] = str(directory) if directory is not None else None
    row["recorded"] = record.get("finished") or record.get("started") or _mtime(directory)
    row.update({k: record[k] for k in COMPARISON_COLUMNS if k in record})
    row["threads"] = record.get("threads")
    row["method_source"] = record.get("method_source")
    row["cpu"] = _training_cpu(record)
    lent = record.get("trained_by") or {}  # a run that deploys another run's network (Method.trains_as)
    row["lender_config_hash"], row["lender_finished"] = lent.get("config_hash"), lent.get("finished")
    row["lender_method"] = lent.get("method")
    _flatten_into(row, record.get("metrics") or {}, "")
    _flatten_into(row, record.get("validation") or {}, "val_")
    complexity = dict(record.get("complexity") or {})
    latency = complexity.pop("latency", None) or {}
    _flatten_into(row, complexity, "")
    for setting, pair in latency.items():
        prefix = LATENCY_COLUMNS.get(setting, f"latency_{setting}")
        for part, suffix in (("model", ""), ("with_features", "_features")):
            for field, field_suffix in LATENCY_FIELDS.items():
                row[prefix + suffix + field_suffix] = ((pair or {}).get(part) or {}).get(field)
    # the cost column reads the process's CPU time where the wall time counts waiting for a busy core;
    # the wall figure stays beside it (its presence marks the row), and tables say which rows were swapped
    # (a method deploying n students is judged on one student's timing, and shown n of its CPU times:
    # records before the CPU time was summed over the students hold one student's there)
    one = busy_latency(complexity.get("latency_per_model") or latency)
    if one is not None:
        row["latency_cpu_1t_wall_ms"] = row.get("latency_cpu_1t_ms")
        cpu_total = one["cpu_median_ms"] * (complexity.get("n_models") or 1)
        row["latency_cpu_1t_ms"] = row["latency_cpu_1t_cpu_ms"] = cpu_total
    _flatten_into(row, record.get("timings") or {}, "")
    return row


def _flatten_into(row: dict, d: dict, prefix: str) -> None:
    for key, value in d.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if not isinstance(v, dict | list):
                    row[f"{prefix}{key}.{sub}"] = v
        elif not isinstance(value, list):
            row[f"{prefix}{key}"] = value


def _mtime(directory) -> str | None:
    if directory is None:
        return None
    try:
        ts = (Path(directory) / RECORD_FILE).stat().st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def select_comparable(
    df: pd.DataFrame,
    benchmark: str | None = None,
    benchmark_hash: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The completed runs of one (benchmark, benchmark_hash) group, plus notes saying what was chosen.

    Several benchmarks and no ``benchmark``: refused (they are never mixed). Several hashes for one
    benchmark: the newest group (latest recorded run) unless ``benchmark_hash`` is given.
    """
    notes: list[str] = []
    if df.empty:
        raise SedbenchError("no run records found; `sedbench run` produces them")
    if benchmark is not None:
        df = df[df["benchmark"] == benchmark]
        if df.empty:
            raise SedbenchError(
                f"no runs of benchmark {benchmark!r}; `sedbench run --profile {benchmark}` produces them"
            )
    names = sorted(df["benchmark"].dropna().unique())
    if len(names) > 1:
        raise SedbenchError(
            f"results hold several benchmarks ({', '.join(names)}); choose one with --benchmark"
        )
    if benchmark_hash is not None:
        df = df[df["benchmark_hash"].astype(str).str.startswith(benchmark_hash)]
        if df.empty:
            raise SedbenchError(f"no runs with benchmark hash {benchmark_hash!r}")
    recorded = pd.to_datetime(df["recorded"], utc=True, errors="coerce", format="ISO8601")
    hashes = recorded.groupby(df["benchmark_hash"], dropna=False).max().sort_values()
    # the newest group with something to compare: a newer group of only failed or running pairs must
    # not hide the complete ones (it is named in the note)
    has_complete = df.groupby("benchmark_hash", dropna=False)["status"].apply(lambda s: (s == "complete").any())
    if len(hashes) > 1 and has_complete.any():
        newest = next(h for h in reversed(hashes.index) if has_complete.get(h, False))
        counts = df["benchmark_hash"].value_counts(dropna=False)
        others = ", ".join(f"{h} ({counts.get(h, 0)} runs{'' if has_complete.get(h, False) else ', none complete'})"
                           for h in hashes.index if h != newest)
        notes.append(
            f"benchmark {names[0]} has runs under {len(hashes)} settings hashes; showing the newest with "
            f"complete runs ({newest}, {counts.get(newest, 0)} runs), not {others} (choose with --hash)"
        )
        df = df[df["benchmark_hash"] == newest]
    df = _stale_borrowers(df, notes)
    df = _newest_variant_per_method(df, notes)
    incomplete = df[df["status"] != "complete"]
    if len(incomplete):
        counts = incomplete["status"].fillna("unknown").value_counts()
        notes.append("left out: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + " run(s)")
    complete = df[df["status"] == "complete"].reset_index(drop=True)
    if complete.empty:
        raise SedbenchError(_none_completed(df, names[0]))
    twice = complete[complete.duplicated(["method", "seed"], keep=False)]
    if not twice.empty:  # the tables' means, tests and per-seed rows would each resolve them differently
        first = twice.iloc[0]
        folders = ", ".join(str(d) for d in twice[(twice["method"] == first["method"])
                                                  & (twice["seed"] == first["seed"])]["run_dir"])
        raise SedbenchError(f"two complete runs of {first['method']} seed {first['seed']} in one settings group "
                            f"({folders}): move one out of the results folder")
    return complete, notes


def kept_validation(results_root: str | os.PathLike, benchmark: str, benchmark_hash: str,
                    method: str = "scratch") -> tuple[pd.Series, list[str]]:
    """The validation PSDS1 each completed run of ``method`` in one settings group kept, by seed, from
    the variant the tables show (runs of a seed at two thread counts are two variants, not two
    students), and the notes saying which; empty if none. Records without the score are left out."""
    runs = load(Path(results_root) / benchmark / benchmark_hash)
    try:
        runs, notes = select_comparable(runs, benchmark, benchmark_hash)
    except SedbenchError:  # no completed run in the group
        return pd.Series(dtype=float), []
    runs = runs[runs["method"] == method]
    if runs.empty or "val_psds1" not in runs:
        return pd.Series(dtype=float), []
    notes = [n for n in notes if n.startswith(f"{method} ")]
    return runs.set_index("seed")["val_psds1"].astype(float).dropna().sort_index(), notes


def lent_network_is_current(lent: dict, lender: dict | None) -> bool:
    """Whether a borrowed record (its ``trained_by``: ``lent``) still deploys its lender's run: the
    lender's record is complete and finished when the borrowed one says. One rule for the runner
    (reuse or redo) and the tables (compare or leave out)."""
    return (lender is not None and lender.get("status") == "complete"
            and lender.get("finished") == lent.get("finished"))


def rerun_command(runs: pd.DataFrame, *args: str) -> str:
    """`sedbench run ARGS` for these records' settings group: their profile and, when they share one,
    thread count (part of a run's key: another count would train a new variant beside them)."""
    parts = ["sedbench run"]
    if "benchmark" in runs and runs["benchmark"].nunique() == 1:
        parts.append(f"--profile {runs['benchmark'].iloc[0]}")
    threads = pd.to_numeric(runs["threads"], errors="coerce").dropna().unique() if "threads" in runs else []
    if len(threads) == 1:
        parts.append(f"--threads {int(threads[0])}")
    # the results folder (a run sits at ROOT/benchmark/settings/method/variant/seed-N) and the plugin
    # files of the methods shown: without them the command trains elsewhere, or without the plugin
    roots = {str(Path(d).parents[4]) for d in runs.get("run_dir", pd.Series(dtype=object)).dropna()
             if len(Path(d).parents) > 4}
    if len(roots) == 1 and Path(next(iter(roots))) != Path("results"):
        parts.append(f"--results {next(iter(roots))}")
    sources = runs.get("method_source", pd.Series(dtype=object)).dropna()
    for source in sorted({str(v) for v in sources if str(v).startswith("file (")}):
        parts.append(f"--plugin {source.removeprefix('file (').removesuffix(')')}")
    return " ".join([*parts, *args])


def _stale_borrowers(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """A run that deploys its lender's network is stale once that lender was run again (``--force``)
    or is running again: it holds the old network, so it would compare a method with an earlier
    version of its own control. Its status becomes ``stale`` (left out, with the command that
    rebuilds it). The runner applies the same rule before it reuses such a record."""
    if "lender_config_hash" not in df or df["lender_config_hash"].isna().all():
        return df
    lenders = df.drop_duplicates("config_hash", keep="last").set_index("config_hash")
    stale = []
    for i, row in df[df["lender_config_hash"].notna() & (df["status"] == "complete")].iterrows():
        if row["lender_config_hash"] not in lenders.index:
            continue  # the lender's record is not among those loaded: nothing says it changed
        lender = lenders.loc[row["lender_config_hash"]]
        if not lent_network_is_current({"finished": row["lender_finished"]},
                                       {"status": lender["status"], "finished": lender["recorded"]}):
            stale.append(i)
    if not stale:
        return df
    df = df.copy()
    df.loc[stale, "status"] = "stale"
    for method, rows in df.loc[stale].groupby("method", sort=True):
        seeds = ",".join(str(s) for s in sorted(rows["seed"].dropna())) + ("," if len(rows) == 1 else "")
        notes.append(f"{method} seed(s) {seeds.rstrip(',')}: deploys an earlier run of the method it trains as, "
                     f"which was run again since; left out "
                     f"(`{rerun_command(df, f'--methods {method}', f'--seeds {seeds}')}` rebuilds it)")
    return df


def _newest_variant_per_method(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Within one settings group, a method may have runs of several variants (other hyperparameters,
    a changed source file, another thread count): keep the variant with the newest run, and say so."""
    if "variant_hash" not in df or df["variant_hash"].isna().all():
        return df
    recorded = pd.to_datetime(df["recorded"], utc=True, errors="coerce", format="ISO8601")
    keep = pd.Series(True, index=df.index)
    variants = df["variant_hash"].fillna("")
    threads = pd.to_numeric(df["threads"], errors="coerce") if "threads" in df else pd.Series(float("nan"), df.index)
    # a run's thread count is in its key, and its bits depend on it: a variant trained with the thread
    # count most of the group used is preferred, so a rerun with another count does not swap a row
    usual = threads.mode().iloc[0] if threads.notna().any() else None
    status = df["status"] if "status" in df else pd.Series("complete", df.index)
    for method, rows in df.groupby("method", sort=True):
        newest = recorded[rows.index].groupby(variants[rows.index]).max().sort_values()
        if len(newest) > 1:
            usual_variants = set(variants[rows.index][threads[rows.index] == usual])
            # a variant still training, or whose runs all failed, does not hide one that has results
            done = set(variants[rows.index][status[rows.index] == "complete"])
            ranked = [v for v in newest.index if v in done] or list(newest.index)
            pool = [v for v in ranked if v in usual_variants] or ranked
            chosen = pool[-1]
            keep[rows.index] = variants[rows.index] == chosen
            which = ("the newest" if chosen == newest.index[-1] else
                     f"the newest with the group's {usual:g} thread(s)" if chosen != ranked[-1] else
                     "the newest with a complete run")
            notes.append(f"{method} has runs of {len(newest)} variants in this settings group (its "
                         f"hyperparameters, source or thread count differ); showing {which} ({chosen[:10]})")
    shown = threads[keep].dropna()
    if shown.nunique() > 1:
        by = "; ".join(f"{t:g} thread(s): {', '.join(sorted(set(df.loc[shown.index[shown == t], 'method'])))}"
                       for t in sorted(shown.unique()))
        notes.append(f"the runs shown were trained with different thread counts ({by}): bit for bit they differ "
                     "in more than the method; `sedbench run --threads N` trains the others alike")
    # another CPU (other vector kernels) gives other bits too, but it is no key: a cluster of mixed
    # nodes (`--executor ray`) would otherwise split a method's seeds over variants. Said instead.
    cpus = df.loc[keep, "cpu"].dropna() if "cpu" in df else pd.Series(dtype=object)
    if cpus.nunique() > 1:
        by = "; ".join(f"{cpu}: {', '.join(sorted(set(df.loc[cpus.index[cpus == cpu], 'method'])))}"
                       for cpu in sorted(cpus.unique()))
        notes.append(f"the runs shown were trained on different CPUs ({by}): bit for bit they differ in more than "
                     "the method; train a comparison on one kind of machine to compare like with like")
    return df[keep]


def _none_completed(df: pd.DataFrame, benchmark: str) -> str:
    """Why a group has nothing to compare: its runs and their errors."""
    if df.empty:
        return f"no runs of benchmark {benchmark} to compare; `sedbench run` produces them"
    counts = df["status"].fillna("unknown").value_counts()
    states = ", ".join(f"{n} {s}" for s, n in counts.items())
    failed = df[df["error"].notna()] if "error" in df else df.iloc[0:0]
    why = ""
    if len(failed):
        first = failed.iloc[0]
        error = str(first["error"]).strip().splitlines()[0] if str(first["error"]).strip() else "no message"
        why = f"; {first['method']} seed {first['seed']}: {error}"
    return f"no run of benchmark {benchmark} completed ({states}){why}"
