"""Running the benchmark: one (method, seed) run end to end, and the run matrix with its executors.

``run_one`` is the single run function every executor calls: train each of the method's partitions
with the engine, select checkpoints on validation, evaluate on eval, measure the deployed model,
and write the run record atomically (status ``running`` while it works, ``complete`` or ``failed``
at the end; an interrupted run is never left marked complete).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import itertools
import os
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sedbench import results
from sedbench.benchmark import Benchmark
from sedbench.config import MAX_SEED, config_hash
from sedbench.energy import track_energy, with_stopped_share
from sedbench.errors import SedbenchError, Terminated, one_line
from sedbench.io import replace_dir
from sedbench.locks import run_lock
from sedbench.methods import Method, build_method, method_settings, params_dict
from sedbench.pool import ProcessTask, run_in_processes, task_signals, worker_progress
from sedbench.progress import finished, progress_bars
from sedbench.provenance import code_state, describe
from sedbench.training.checkpoint import CHECKPOINTS, saved_steps
from sedbench.training.fit import TrainResult, routed_predict, schedule, train_and_select, train_teacher

__all__ = ["TrainResult", "routed_predict", "run_matrix", "run_one", "train_and_select", "train_teacher"]


def method_overrides(bench: Benchmark, name: str, plugins: tuple[str, ...] = ()) -> dict[str, Any]:
    """A method's hyperparameter overrides in this benchmark (profile teacher defaults, then its section)."""
    return method_settings(bench.config, name, plugins)


def score_split(bench: Benchmark, data, frame_probs: np.ndarray, clip_probs: np.ndarray,
                rows: np.ndarray | None = None, which: tuple[str, ...] | None = None
                ) -> tuple[dict[str, Any], dict]:
    """Metrics of predictions on a split (or on ``rows`` of it); returns (metrics, scores)."""
    return bench.score_split(data, frame_probs, clip_probs, rows=rows, which=which)


def deployed_complexity(bench: Benchmark, net: nn.Module, measure) -> dict[str, Any]:
    """Params, MACs and latency of one deployed student, measured once per student configuration.

    Every method deploys the same architecture (the engine enforces it), so measuring it again for
    each method and seed would only add noise and minutes; the figures are cached beside the
    features, keyed by the student, the front end, the device and the measurement settings.
    """
    import json

    from sedbench.io import atomic_write_json

    settings = bench.config.get("complexity", {})
    key = config_hash({"student": bench.config["student"], "features": bench.config["features"],
                       "device": str(bench.device), "settings": settings, "torch": torch.__version__})
    path = bench.cache_root / "complexity" / f"{bench.student_model}-{key}.json"
    if path.is_file():
        return {**json.loads(path.read_text()), "measured_in_run": False}
    figures = measure(net, bench.feature_cfg, **settings)
    if results.busy_latency(figures.get("latency")) is None:
        atomic_write_json(path, figures)  # a figure timed on a busy core is kept by this run only
    return {**figures, "measured_in_run": True}


# complexity figures that add up over the deployed models (ratios, memory peaks and notes do not)
_ADDITIVE = ("params", "macs", "macs_thop", "macs_ptflops", "macs_flop_counter", "model_size_bytes")
_LATENCY_ADDITIVE = ("median_ms", "median_ci95_ms", "q1_ms", "q3_ms", "iqr_ms", "mean_ms", "std_ms", "min_ms",
                     "cpu_median_ms", "cpu_iqr_ms")


def deployed_total(per_model: dict[str, Any], n_models: int) -> dict[str, Any]:
    """Complexity of everything a method deploys: ``n_models`` students of the benchmark's architecture.

    ``params``, MACs, model size and latency are totals over the deployed students (for
    environment-aware: all environment students together, as a deployment ships and, without the
    oracle environment, runs them); ``<figure>_per_model`` and ``n_models`` stand beside them. Every
    deployed student has the same architecture (the engine enforces it), so a total is n times the
    per-model figure; latency is n sequential inferences of one clip.
    """
    total = dict(per_model)
    total["n_models"] = n_models
    for key in _ADDITIVE:
        if isinstance(per_model.get(key), int | float):
            total[f"{key}_per_model"] = per_model[key]
            total[key] = per_model[key] * n_models
    if isinstance(per_model.get("latency_ms"), int | float):
        total["latency_ms_per_model"] = per_model["latency_ms"]
        total["latency_ms"] = per_model["latency_ms"] * n_models
    latency = per_model.get("latency")
    if isinstance(latency, dict):
        scaled: dict[str, Any] = {}
        for setting, parts in latency.items():
            scaled[setting] = {}
            for part, stats in (parts or {}).items():
                if not isinstance(stats, dict):
                    scaled[setting][part] = stats
                    continue
                scaled[setting][part] = {
                    k: ([x * n_models for x in v] if isinstance(v, list) else v * n_models)
                    if k in _LATENCY_ADDITIVE and v is not None else v for k, v in stats.items()}
        total["latency"] = scaled
        if n_models > 1:
            total["latency_per_model"] = latency
    if n_models > 1:
        total["deployed_note"] = (f"{n_models} students deployed: params, MACs, size and latency are totals; "
                                  "routed by environment, one student runs per clip (see *_per_model)")
    return total


def comparison_fields(bench: Benchmark, method: Method, seed: int | None = None) -> dict[str, Any]:
    """What a table needs to pair a run with its control and to say which teacher(s) it used.

    ``teachers``: the teachers the run read, comma-joined ("" for none); ``profile_teacher``: True when
    the run distils from the profile's default teacher / teacher set, False after a deliberate
    per-method override or for a method whose formula needs a specific teacher (eefd and
    temporal-attention need the transformer), None without teachers; ``teacher_seeds`` and
    ``teacher_seed``: how the run's teachers were trained.
    """
    from sedbench.methods import profile_teacher_values
    from sedbench.teachers import teacher_seed, teacher_seeds_mode

    try:
        used = list(method.teachers())
    except SedbenchError:  # a misconfigured method fails inside the run, where the error is recorded
        used = []
    defaults = profile_teacher_values(type(method), bench.config)
    return {
        "control": method.control, "is_control": bool(method.is_control), "teachers": ",".join(used),
        "profile_teacher": (bool(defaults) and all(getattr(method.params, k) == v for k, v in defaults.items()))
        if used else None,
        "teacher_seeds": teacher_seeds_mode(bench),
        "teacher_seed": teacher_seed(bench, seed) if used else None,
    }


def run_config(bench: Benchmark, method: Method, plugins: tuple[str, ...] = ()) -> dict[str, Any]:
    section = {"name": method.name, "params": params_dict(method), "source_hash": getattr(method, "source_hash", "")}
    source = shared_source(bench, method, plugins)
    if source is not None:  # its networks are the source's: a changed source makes this run stale too
        section["trains_as"] = {"name": source.name, "source_hash": source.source_hash}
    elif method.trains_as:  # it trains its own network, but with the code of the method it trains as
        lender = build_method(method.trains_as, method_overrides(bench, method.trains_as, plugins), plugins)
        section["trains_as"] = {"name": lender.name, "source_hash": lender.source_hash, "own_network": True}
    return {**bench.config, "method": section}


def shared_source(bench: Benchmark, method: Method, plugins: tuple[str, ...] = ()) -> Method | None:
    """The method whose run lends this one its trained networks (``Method.trains_as``), built as the
    benchmark builds it, when it trains with exactly this method's hyperparameters; else None (the
    method trains its own, e.g. environment-mask after a per-method override of its tau)."""
    if not method.trains_as:
        return None
    source = build_method(method.trains_as, method_overrides(bench, method.trains_as, plugins), plugins)
    # one hop only: a lender that borrows itself would leave the last lender out of this run's identity
    if params_dict(source) != params_dict(method) or source.deploy != method.deploy or source.trains_as:
        return None
    return source


def lenders_first(bench: Benchmark, methods: list[str], plugins: tuple[str, ...] = ()) -> list[str]:
    """``methods`` with every run that lends its networks (``Method.trains_as``) before its borrowers,
    so that a borrower deploys this matrix's run of its lender (after ``--force``, the new one)."""
    return borrowers_last(methods, matrix_lenders(bench, methods, plugins))


def borrowers_last(methods: list[str], lenders: dict[str, str]) -> list[str]:
    return sorted(methods, key=lenders.__contains__)  # stable: the order within each part is kept


def matrix_lenders(bench: Benchmark, methods: list[str], plugins: tuple[str, ...] = ()) -> dict[str, str]:
    """method -> the method of this matrix whose run of the same seed lends it its networks."""
    lenders = {}
    for name in methods:
        source = shared_source(bench, build_method(name, method_overrides(bench, name, plugins), plugins), plugins)
        if source is not None and source.name in methods:
            lenders[name] = source.name
    return lenders


def lender_record(bench: Benchmark, method: Method, seed: int, plugins: tuple[str, ...] = ()) -> dict | None:
    """The current complete record of the run that lends ``method`` its networks for ``seed``, if any."""
    source = shared_source(bench, method, plugins)
    if source is None:
        return None
    out = run_identity(bench, source, seed, plugins).directory
    try:
        record = results.record_or_none(out)
    except results.DamagedRecord:  # the lender trains again, and its borrowers after it
        return None
    return record if record and record.get("status") == "complete" else None


def borrowed_is_current(bench: Benchmark, method: Method, seed: int, record: dict,
                        plugins: tuple[str, ...] = ()) -> bool:
    """A borrowed record is stale once its lender was run again (``--force``): it holds the old network."""
    lent = record.get("trained_by")
    if not lent:
        return True
    return results.lent_network_is_current(lent, lender_record(bench, method, seed, plugins))


@dataclass
class RunIdentity:
    """Where a (method, seed) run lives and what it is keyed by.

    ``variant``: everything that determines the run except its seed (the whole config, the method's
    hyperparameters and source hash, the data, how training executes); ``run_hash`` adds the seed.
    Records of different settings therefore live side by side (``<results>/<benchmark>/<benchmark
    hash>/<method>/<variant>/seed-<n>``) and a changed setting never replaces an older record.
    """

    config: dict[str, Any]
    variant: str
    run_hash: str
    directory: Path

    @property
    def lock(self) -> Path:
        return run_lock(self.directory)


# profile keys that do not change what a run trains or measures: its prose, its default seed list, the
# tables' reference and other methods' overrides (this method's own are in its params). Keyed, a new
# description or seed list put every completed run in a new variant, to be trained again.
UNKEYED = ("description", "seeds", "reference", "methods")


def run_identity(bench: Benchmark, method: Method, seed: int, plugins: tuple[str, ...] = ()) -> RunIdentity:
    config = run_config(bench, method, plugins)
    keyed = {k: v for k, v in config.items() if k not in UNKEYED}
    variant = config_hash({"config": keyed, "data": bench.data_fingerprint, "execution": bench.execution})
    run_hash = config_hash({"variant": variant, "seed": int(seed)})
    directory = results.run_dir(bench.results_root, bench.name, method.name, seed,
                                settings=bench.benchmark_hash, variant=variant[:10])
    return RunIdentity(config, variant, run_hash, directory)


def run_dir_for(bench: Benchmark, method_name: str, seed: int, plugins: tuple[str, ...] = ()) -> Path:
    """The folder of a (method, seed) run under this benchmark's settings (it may not exist yet)."""
    method = build_method(method_name, method_overrides(bench, method_name, plugins), plugins)
    return run_identity(bench, method, seed, plugins).directory


def run_one(bench: Benchmark, method_name: str, seed: int, *, force: bool = False, progress=None,
            plugins: tuple[str, ...] = (), wait: bool = True, blocked: str | None = None) -> dict[str, Any]:
    """Train, evaluate and measure one (method, seed); returns its run record (also on failure).

    ``blocked``: why the run cannot train in this matrix (a teacher or the lender it needs failed); it
    is recorded as failed with that reason, like any failure, unless it is already complete.

    The run holds a lock on its folder while it works: another process that reaches the same run
    waits for it (``wait``) and then finds it complete, or, with ``wait=False``, gets a record with
    status ``busy`` at once (the matrix comes back to it later). ``run_dir`` in the returned record
    is the run's folder.
    """
    from sedbench.locks import Busy, claim, is_claimed

    method = build_method(method_name, method_overrides(bench, method_name, plugins), plugins)
    identity = run_identity(bench, method, seed, plugins)

    def waiting() -> None:
        if progress is not None:
            progress.console.print(f"{method_name} seed {seed}: another process is running or evaluating it; "
                                   "waiting for it")

    try:
        source = shared_source(bench, method, plugins)
        if not wait and source is not None and is_claimed(run_identity(bench, source, seed, plugins).lock):
            raise Busy  # its lender is training elsewhere (a re-run too): come back to it, as to a run held elsewhere
        with claim(identity.lock, wait=wait, on_wait=waiting), bench.torch_threads():
            record = _run_claimed(bench, method, seed, identity, force, progress, plugins, blocked)
    except Busy:
        record = {"method": method_name, "seed": seed, "status": "busy", "error": None,
                  "config_hash": identity.run_hash}
    record["run_dir"] = str(identity.directory)
    return record


def _run_claimed(bench: Benchmark, method: Method, seed: int, identity: RunIdentity, force: bool, progress,
                 plugins: tuple[str, ...], blocked: str | None = None) -> dict[str, Any]:
    from sedbench.complexity import measure
    from sedbench.evaluation import write_scores
    from sedbench.evaluation.ondata import score_on
    from sedbench.evaluation.scores import SCORES_DIR, remove_scores
    from sedbench.io import atomic_path

    method_name = method.name
    config, run_hash, out = identity.config, identity.run_hash, identity.directory
    _recover_rerun(out)
    try:
        previous = results.record_or_none(out)
    except results.DamagedRecord:  # trained again; the damaged folder is kept aside, hidden from the tables
        os.replace(out, out.with_name(f".{out.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"))
        previous = None
    complete = previous is not None and previous.get("status") == "complete" and previous.get("config_hash") == run_hash
    if complete and not force and borrowed_is_current(bench, method, seed, previous, plugins):
        previous["skipped"] = True
        return previous
    # a complete run trained again (--force, or a lender's newer network) trains beside it: the earlier
    # result stays the run's until the new one is complete, so a failed or interrupted re-run loses nothing
    work = _rerun_dir(out) if complete else out

    record: dict[str, Any] = {
        "schema_version": 1, "benchmark": bench.name, "benchmark_hash": bench.benchmark_hash,
        "config_hash": run_hash, "variant_hash": identity.variant, "method": method_name, "seed": seed,
        "config": config, "method_source_hash": getattr(method, "source_hash", ""),
        "method_source": getattr(method, "source", ""), "threads": bench.threads,
        "execution": bench.execution, **comparison_fields(bench, method, seed),
        "status": "running", "error": None, "started": results.now_iso(), "environment": results.environment_info(),
    }
    results.write_record(work, record)
    try:
        if blocked:
            raise SedbenchError(blocked)
        shared = shared_training(bench, method, seed, progress, plugins)
        if shared is not None:
            result, energy, record["trained_by"] = shared
        else:
            if force:  # trained again from step 0, not resumed from a stopped training's state
                shutil.rmtree(work / CHECKPOINTS, ignore_errors=True)
            with track_energy() as energy:
                result = train_and_select(bench, method, seed, progress=progress, plugins=plugins,
                                          checkpoints=(work / CHECKPOINTS, run_hash))
            energy = with_stopped_share(energy, result.train_s, sum(p.earlier_s for p in result.partitions))
        start = time.perf_counter()
        # scored as `sedbench evaluate RUN --data` scores it: the deployed students behind their routes,
        # each clip cut at its duration, a clip longer than the training length in windows
        scores, clips, long_note = score_on(deployed_detector(bench, result, config, work, seed), bench.dataset, "eval",
                                            bench.evaluation)
        metrics = bench.metrics_of(bench.evaluation, scores, clips, list(bench.evaluation.clip_ids))
        write_scores(work / SCORES_DIR, scores, ground_truth=bench.evaluation.ground_truth,
                     durations=bench.evaluation.durations, clip_probs=clips)
        eval_s = time.perf_counter() - start
        models = result.deployed_models
        start = time.perf_counter()
        per_model = deployed_complexity(bench, models[0], measure)
        complexity_s = time.perf_counter() - start
        complexity = deployed_total(per_model, len(models))
        complexity["params_training_only"] = sum(p.training_only_params for p in result.partitions)
        # training keeps a second copy of each network (the mean student, or the student when the
        # mean student is deployed); it is never deployed in addition
        complexity["params_ema_copy"] = complexity["params"]
        index = {id(p.deployed.net): i for i, p in enumerate(result.partitions)}
        buffer = io.BytesIO()  # not the temporary file: torch.save would embed its random name
        torch.save({"model": bench.student_model, "kwargs": bench.student_kwargs, "classes": list(bench.classes),
                    "partitions": [{"name": p.partition.name, "environment": p.partition.environment,
                                    "classes": p.partition.classes, "state_dict": p.deployed.net.state_dict()}
                                   for p in result.partitions],
                    # evaluation: partition i's student predicts the clips of each of its routes
                    "routes": [{"partition": index[id(r.deployed.net)], "environment": r.partition.environment,
                                "classes": r.partition.classes} for r in result.routes]}, buffer)
        with atomic_path(work / "model.pt") as tmp:
            tmp.write_bytes(buffer.getvalue())
        record.update(
            status="complete", metrics=metrics, validation={
                **result.validation, "best_steps": [p.best_step for p in result.partitions],
                "history": [p.history for p in result.partitions]},
            complexity=complexity,
            timings={"train_s": result.train_s, "eval_s": eval_s, "complexity_s": complexity_s, **energy},
            teacher_info=teachers_used(bench, method, seed),
            notes=run_notes(bench) + ([long_note] if long_note else []) + resumed_notes(result),
        )
    except KeyboardInterrupt as exc:
        by = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted by the user"
        record.update(status="interrupted", error=by)
        raise
    except SedbenchError as exc:
        record.update(status="failed", error=str(exc))
        if exc.__cause__ is not None:  # a method's hook crashed (MethodError): keep where, as for any crash
            record["traceback"] = "".join(traceback.format_exception(exc.__cause__, limit=8))
    except Exception as exc:  # a crash in one run must not stop the matrix; keep the reason
        record.update(status="failed", error=one_line(exc),  # the rest: traceback
                      traceback=traceback.format_exc(limit=8))
    finally:
        record["finished"] = results.now_iso()
        record.setdefault("timings", {})
        if record["status"] != "complete":  # no scores or network beside a record that is not complete
            remove_scores(work / SCORES_DIR)
            (work / "model.pt").unlink(missing_ok=True)
        results.write_record(work, record)
        if record["status"] == "complete":  # kept until then: a stopped or failed run resumes from it
            shutil.rmtree(work / CHECKPOINTS, ignore_errors=True)
        if work != out:
            _settle_rerun(out, work, previous, record)
    return record


def resumed_notes(result: TrainResult) -> list[str]:
    """What a record says when its training was stopped and resumed (from the last validation), and
    which code trained the steps before that when it was not this code (a `git pull` between the two)."""
    notes = []
    for p in result.partitions:
        if not p.resumed_from:
            continue
        what = "training" if len(result.partitions) == 1 else f"partition {p.partition.name}"
        other = (f"; its first {p.resumed_from} steps were trained by {describe(p.resumed_code)}, the rest by "
                 f"{describe(code_state())}" if p.resumed_code != code_state() else "")
        notes.append(f"{what} resumed from step {p.resumed_from} after a stop (train_s counts both processes; "
                     f"energy_kwh adds the stopped one's time at the last one's mean power){other}")
    return notes


def deployed_detector(bench: Benchmark, result: TrainResult, config: dict[str, Any], run_dir: Path, seed: int):
    """The trained students as ``RunDetector.load`` rebuilds them from model.pt: one per route."""
    from sedbench.inference import DeployedStudent, RunDetector

    students = [DeployedStudent(str(r.partition.environment or r.partition.name), r.partition.environment,
                                tuple(r.partition.classes) if r.partition.classes else None, r.deployed.eval())
                for r in result.routes]
    record = {"config": config, "benchmark": bench.name, "method": result.method.name, "seed": seed}
    return RunDetector(run_dir, record, list(bench.classes),
                       bench.feature_cfg, bench.encoder, students, bench.device)


def _rerun_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.rerun"


def _replaced_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.replaced"


def _settle_rerun(out: Path, work: Path, previous: dict[str, Any], record: dict[str, Any]) -> None:
    """After a re-run of a complete run in ``work``: a complete one replaces the earlier run; any other
    outcome is noted in the earlier run's record (``reruns``), which stays, and ``work`` goes."""
    if record.get("status") == "complete":
        # one exchange where the system has it (a reader sees the earlier run or the new one); else two
        # renames, and _recover_rerun finishes the swap if a kill lands between them
        replace_dir(work, out, aside=_replaced_dir(out))
        return
    attempt = {k: record.get(k) for k in ("status", "error", "started", "finished", "traceback") if record.get(k)}
    current = results.record_or_none(out) or previous  # e.g. `evaluate --update` since
    results.write_record(out, {**current, "reruns": [*current.get("reruns", []), attempt]})
    shutil.rmtree(work)
    if record.get("error"):
        record["error"] += " (its earlier complete result is kept)"


def _recover_rerun(out: Path) -> None:
    """Undo what a killed re-run left (called with the run's lock held): its unfinished folder, or a
    swap stopped between its two renames (the earlier run goes back unless the new one is in place)."""
    replaced, work = _replaced_dir(out), _rerun_dir(out)
    if replaced.exists():
        if not out.exists():
            new = results.record_or_none(work) or {}
            os.replace(work if new.get("status") == "complete" else replaced, out)  # the new run, when whole
        if replaced.exists():
            shutil.rmtree(replaced)
    if work.exists():
        shutil.rmtree(work)


def shared_training(bench: Benchmark, method: Method, seed: int, progress, plugins: tuple[str, ...]
                    ) -> tuple[TrainResult, dict[str, Any], dict[str, Any]] | None:
    """The networks of ``shared_source``'s run of this seed (trained now, waited for, or read from its
    record), deployed behind this method's routes: (result, the source's training energy, where from).

    Its cost is the source's: the record's train_s and energy are the source run's (the cost of the
    method), and the matrix's stage table does not count them twice (``trained_by``).
    """
    from sedbench.inference import RunDetector
    from sedbench.methods import Partition
    from sedbench.training.engine import TrainConfig, TrainedPartition
    from sedbench.training.fit import deployment_routes

    source = shared_source(bench, method, plugins)
    if source is None:
        return None
    record = run_one(bench, source.name, seed, progress=progress, plugins=plugins)
    where = f"{source.name} seed {seed}"
    if record.get("status") != "complete":
        raise SedbenchError(f"{method.name} trains as {where}, which is {record.get('status')}: "
                            f"{record.get('error') or 'no networks'}")
    try:
        detector = RunDetector.load(record["run_dir"])
    except SedbenchError as exc:  # e.g. results copied without their git-ignored model.pt
        raise SedbenchError(f"{method.name} deploys {where}'s network, which cannot be loaded ({exc}); "
                            f"`sedbench run --methods {source.name} --seeds {seed}, --force` trains it again") from exc
    if detector.routed or len(detector.students) != 1:
        raise SedbenchError(f"{method.name} trains as {source.name}, which deploys more than one general "
                            "student; only a one-student method can lend its networks")
    validation, complexity = record.get("validation") or {}, record.get("complexity") or {}
    trained = [TrainedPartition(
        partition=Partition(), deployed=detector.students[0].model,
        training_only_params=int(complexity.get("params_training_only") or 0),
        best_step=(validation.get("best_steps") or [None])[0], best_score=None,
        history=(validation.get("history") or [[]])[0])]
    routes = deployment_routes(method, trained, bench.classes, bench.environments)
    eval_batch = TrainConfig.from_dict(bench.config["training"]).eval_batch_size
    frames, clips = routed_predict(routes, bench.validation, bench.device, eval_batch)
    val_metrics, _ = bench.score_split(bench.validation, frames, clips)
    timings = record.get("timings") or {}
    energy = {k: v for k, v in timings.items() if k.startswith("energy")}
    # trained_here: the lender was trained inside this run (its own pair was not in the matrix, or came
    # later), so this run's stage holds that training; finished: which of the lender's runs it deployed
    return (TrainResult(method, trained, val_metrics, float(timings.get("train_s") or 0.0), routes), energy,
            {"method": source.name, "seed": seed, "config_hash": record.get("config_hash"),
             "finished": record.get("finished"), "run_dir": record["run_dir"],
             "trained_here": not record.get("skipped")})


def teachers_used(bench: Benchmark, method: Method, seed: int | None = None) -> dict[str, dict[str, Any]]:
    """The cached teachers the run of ``seed`` read (its own under ``teacher_seeds: per_run``), with their
    cost and scores: the whole cost of a method."""
    from sedbench.teachers import read_teacher_info, teacher_dir

    out = {}
    for name in sorted({part for t in method.teachers() for part in t.split("+")}):
        info = read_teacher_info(teacher_dir(bench, name, seed)) or {}
        validation = info.get("validation") or {}
        out[name] = {"model": info.get("model"), "key": info.get("key"), "params": info.get("params"),
                     "train_s": info.get("train_s"), "energy_kwh": info.get("energy_kwh"),
                     "trained_on": (info.get("execution") or {}).get("cpu"),
                     "psds1": validation.get("psds1"),
                     "psds2": validation.get("psds2")}
    return out


def run_notes(bench: Benchmark) -> list[str]:
    """Expected conditions of a run, said once in words: classes that a split has no events of."""
    from sedbench.evaluation.metrics import classes_without_events

    notes = list(bench.dataset.notes)  # e.g. files left out under `missing_audio: drop`
    for split, data in (("eval", bench.evaluation), ("validation", bench.validation)):
        absent = classes_without_events(data.ground_truth, bench.classes)
        if absent:
            notes.append(f"{split} has no events of {', '.join(absent)}: left out of its event metrics "
                         "(per-class values None)")
    return notes


# ----------------------------------------------------------------------------------- the matrix
def resolve_methods(spec: str, plugins: tuple[str, ...] = ()) -> list[str]:
    """``all``, a comma list, or globs (``*kd``) against the registry, in registry order."""
    import fnmatch

    from sedbench.methods import get_method, method_names

    names = method_names(plugins)
    if spec.strip() == "all":
        return _reference_first(names)
    chosen: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if any(ch in part for ch in "*?["):
            hits = fnmatch.filter(names, part)
            if not hits:
                raise SedbenchError(f"--methods {part}: no method matches; see `sedbench methods`")
            chosen += [h for h in hits if h not in chosen]
        else:
            get_method(part, plugins)  # raises with close matches when unknown
            if part not in chosen:
                chosen.append(part)
    if not chosen:
        raise SedbenchError(f"--methods {spec!r}: names no method; give all, a comma list or a glob (*kd); "
                            "see `sedbench methods`")
    return chosen


def _reference_first(names: list[str]) -> list[str]:
    order = ["scratch", "vanilla", "multi-teacher", "temporal-attention", "environment-aware", "takd",
             "eefd", "dual", "scratch-ema", "vanilla-ensemble", "environment-mask"]
    return [n for n in order if n in names] + sorted(n for n in names if n not in order)


MAX_SEED_COUNT = 1000


def resolve_seeds(seeds: str | None, bench: Benchmark) -> list[int]:
    """``3`` -> 0, 1, 2; ``0,4,7`` -> those seeds; None -> the profile's seeds. A seed given twice is
    run once (``1,1`` -> 1)."""
    if seeds is None:
        return list(dict.fromkeys(int(s) for s in bench.config.get("seeds", [0])))
    try:
        if "," in seeds:
            chosen = [int(s) for s in seeds.split(",") if s.strip()]
        else:  # a count; more than MAX_SEED_COUNT is a typo, not a benchmark (and would not fit in memory)
            count = int(seeds)
            chosen = list(range(count)) if count <= MAX_SEED_COUNT else []
    except ValueError:
        chosen = []
    if not chosen or min(chosen) < 0 or max(chosen) > MAX_SEED:
        raise SedbenchError(f"--seeds {seeds}: give a count from 1 to {MAX_SEED_COUNT} (3 -> 0,1,2) or a comma list "
                            f"of seeds from 0 to {MAX_SEED} (0,4,7; one seed alone with a trailing comma: 2,)")
    return list(dict.fromkeys(chosen))


def check_method_settings(bench: Benchmark, plugins: tuple[str, ...] = ()) -> None:
    """The profile's ``methods:`` section against the registry and each method's Params (keys and
    types): one line naming the key, before any work."""
    from sedbench.config import check_dataclass
    from sedbench.errors import ConfigError
    from sedbench.methods import discover

    registry = discover(plugins)
    for name, values in (bench.config.get("methods") or {}).items():
        if name not in registry:
            raise ConfigError(f"methods.{name}: no such method; known: {', '.join(sorted(registry))}")
        check_dataclass(registry[name].Params, values or {}, f"methods.{name}")
        build_method(name, method_overrides(bench, name, plugins), plugins)  # forbidden and unknown names


def teachers_needed(methods: list[str], bench: Benchmark, plugins: tuple[str, ...] = ()) -> list[str]:
    from sedbench.errors import ConfigError

    defined = bench.config.get("teachers") or {}
    needed: list[str] = []
    for name in methods:
        method = build_method(name, method_overrides(bench, name, plugins), plugins)
        for t in method.teachers():
            for part in t.split("+"):
                if part not in defined:  # before any work, naming the key the name came from
                    known = f"teachers: {', '.join(defined) or 'none'}"
                    key = _profile_teacher_key(bench, name, part, plugins)
                    if key is not None:
                        raise ConfigError(f"{key}: teacher {part!r} is not defined in profile {bench.name} ({known}); "
                                          "choose one of those or add it under the profile's teachers:")
                    raise ConfigError(f"method {name} reads teacher {part!r}, which profile {bench.name} does not "
                                      f"define ({known}); set the method's teacher "
                                      f"with --set methods.{name}.<param>=NAME or add it under the profile's teachers:")
                if part not in needed:
                    needed.append(part)
    return needed


def _profile_teacher_key(bench: Benchmark, method: str, teacher: str, plugins: tuple[str, ...]) -> str | None:
    """``teacher`` or ``teacher_set`` when the method took ``teacher`` from that profile default (its own
    ``methods.<name>`` section does not set the hyperparameter), else None."""
    from sedbench.methods import get_method, profile_teacher_values

    cls = get_method(method, plugins)
    section = (bench.config.get("methods") or {}).get(method) or {}
    for param, value in profile_teacher_values(cls, bench.config).items():
        if param not in section and teacher in ([value] if isinstance(value, str) else value):
            return cls.profile_teachers[param]
    return None


def control_notes(bench: Benchmark, methods: list[str], seeds: list[int] | None = None,
                  plugins: tuple[str, ...] = ()) -> list[str]:
    """What weakens a method-vs-control comparison in this matrix: a control that is neither run nor
    finished in this settings group for ``seeds``, or a control that distils from other teachers than
    the method it controls (a study that overrides one teacher must override both)."""
    built = {m: build_method(m, method_overrides(bench, m, plugins), plugins) for m in methods}
    notes = []
    for name, method in built.items():
        control = method.control
        if control is None:
            continue
        if control not in built:
            # the table reads the whole settings group, so the control's finished runs still count
            finished = ([s for s in seeds if pair_status(bench, control, s, plugins) == "cached"]
                        if seeds and bench.dataset_exists else [])
            if seeds and len(finished) == len(seeds):
                notes.append(f"{name}: its control {control} is not run here; its finished runs in this "
                             f"settings group (seeds {', '.join(map(str, seeds))}) are the control")
            else:
                lacking = f" (no finished run for seed(s) {', '.join(str(s) for s in seeds if s not in finished)})" \
                    if seeds else ""
                notes.append(f"{name}: its control {control} is not among the methods run{lacking}; add it "
                             "for a delta against the control")
        ctrl = built.get(control) or build_method(control, method_overrides(bench, control, plugins), plugins)
        theirs, ours = ctrl.teachers(), method.teachers()
        if theirs and sorted(theirs) != sorted(ours):
            notes.append(f"{name} distils from {', '.join(ours)} but its control {control} from "
                         f"{', '.join(theirs)}: their difference mixes the mechanism with the teacher")
    return notes


def pair_status(bench: Benchmark, method: str, seed: int, plugins: tuple[str, ...] = ()) -> str:
    """``cached`` when a complete record with this exact identity exists, ``running`` while another
    process holds the run; ``interrupted`` or ``failed`` when an earlier run of these settings stopped
    there (a record left ``running`` by a killed process counts as interrupted); else ``pending``.
    Reads only. An interrupted or failed pair resumes from its last validation (``resume_point``)
    when it left a checkpoint of these settings; a damaged or pending one trains from step 0."""
    from sedbench.locks import is_claimed

    m = build_method(method, method_overrides(bench, method, plugins), plugins)
    identity = run_identity(bench, m, seed, plugins)
    out = identity.directory
    try:
        record = results.record_or_none(out) or {}
    except results.DamagedRecord:
        return "damaged"
    same = record.get("config_hash") == identity.run_hash
    if same and record.get("status") == "complete" and borrowed_is_current(bench, m, seed, record, plugins):
        return "cached"
    if is_claimed(identity.lock):
        return "running"
    if same and record.get("status") in ("interrupted", "running"):
        return "interrupted"
    return "failed" if same and record.get("status") == "failed" else "pending"


def unfinished_pairs(bench: Benchmark, methods: list[str], seeds: list[int],
                     plugins: tuple[str, ...] = (), force: bool = False) -> dict[str, list[str]]:
    """The pairs an earlier run of these settings left ``interrupted``, ``failed`` or ``damaged``:
    {status: ["METHOD seed S", ...]}; the first two say where their training resumes, "(from step N)"
    (step 0 with ``force``)."""
    found: dict[str, list[str]] = {}
    for m in methods:
        for s in seeds:
            status = pair_status(bench, m, s, plugins)
            if status in ("interrupted", "failed", "damaged"):
                where = "step 0" if force else resume_point(bench, m, s, plugins)
                where = "" if status == "damaged" else f" (from {where})"
                found.setdefault(status, []).append(f"{m} seed {s}{where}")
    return found


def resume_point(bench: Benchmark, method: str, seed: int, plugins: tuple[str, ...] = ()) -> str:
    """Where a stopped or failed pair's training resumes: the step of its last validation, per student
    for a method that trains several; "step 0" when it left no checkpoint. Reads only."""
    built = build_method(method, method_overrides(bench, method, plugins), plugins)
    return _steps_text(_saved_steps(bench, built, seed, plugins))


def _saved_steps(bench: Benchmark, method: Method, seed: int, plugins: tuple[str, ...]) -> list[int]:
    """The steps a pair's checkpoints hold (the folder and key `_run_claimed` trains with)."""
    identity = run_identity(bench, method, seed, plugins)
    return saved_steps(identity.directory / CHECKPOINTS, identity.run_hash)


def teacher_resume_point(bench: Benchmark, name: str, run_seed: int | None = None) -> str:
    """Where a stopped or failed teacher's training resumes ("step 0" without a checkpoint). Reads only."""
    from sedbench.teachers import teacher_checkpoints, teacher_dir

    return _steps_text(saved_steps(teacher_checkpoints(bench, name, run_seed), teacher_dir(bench, name, run_seed).name))


def _steps_text(steps: list[int]) -> str:
    if not any(steps):
        return "step 0"
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {', '.join(map(str, steps))} of its students"


def pending_work(bench: Benchmark, methods: list[str], seeds: list[int], plugins: tuple[str, ...] = (),
                 force: bool = False) -> tuple[list[tuple[str, float]], list[str]]:
    """((method, relative cost) per pair still to train, teachers still to train), writing nothing:
    before the dataset exists nothing can be cached, so everything is pending."""
    from sedbench.plan import clip_counts
    from sedbench.teachers import teacher_run_seeds

    built = {m: build_method(m, method_overrides(bench, m, plugins), plugins) for m in methods}
    teachers = teachers_needed(methods, bench, plugins)
    pairs = [(m, s) for m in methods for s in seeds]
    if not clip_counts(bench.config)[2]:
        return ([(m, cost) for (m, _), cost in run_costs(bench, built, pairs, plugins, nothing_cached=True)],
                [n for _ in teacher_run_seeds(bench, seeds) for n in teachers])
    pending = [(m, s) for m, s in pairs if force or pair_status(bench, m, s, plugins) != "cached"]
    # a stopped pair costs what its checkpoints have left to train (all of it with --force)
    return ([(m, cost * (1.0 if force else 1.0 - done_share(bench, built[m], s, plugins)))
             for (m, s), cost in run_costs(bench, built, pending, plugins)],
            [name for name, _ in missing_teachers(bench, teachers, seeds).values()])


def done_share(bench: Benchmark, method: Method, seed: int, plugins: tuple[str, ...] = ()) -> float:
    """The share of a pair's schedule its checkpoints hold: the steps its students reached over the
    schedule's (the partitions' shares add up to at most 1); 0 without a checkpoint."""
    done = sum(_saved_steps(bench, method, seed, plugins))
    return min(1.0, done / schedule(bench).steps) if done else 0.0


def run_costs(bench: Benchmark, built: dict[str, Method], pairs: list[tuple[str, int]],
              plugins: tuple[str, ...] = (), nothing_cached: bool = False) -> list[tuple[tuple[str, int], float]]:
    """Each pair's training cost relative to scratch: a run that deploys another's networks
    (``shared_source``) costs nothing when that run is among ``pairs`` or cached, else that run's."""
    out = []
    for m, s in pairs:
        source = shared_source(bench, built[m], plugins)
        cost = built[m].relative_cost
        if source is not None:
            lent = (source.name, s) in pairs or (
                not nothing_cached and pair_status(bench, source.name, s, plugins) == "cached")
            cost = 0.0 if lent else source.relative_cost
        out.append(((m, s), cost))
    return out


def spread_devices(device: torch.device, jobs: int) -> tuple[list[str], float | None]:
    """The devices ``jobs`` worker processes use, and each one's share of its GPU's memory.

    ``cuda`` without an index spreads over every visible GPU; several processes on one GPU each get
    an equal share of its memory (less a margin for the CUDA context), so that none starves another.
    """
    if device.type != "cuda":
        return [str(device)], None
    gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if device.index is None else [str(device)]
    per_gpu = -(-jobs // max(1, len(gpus)))
    return gpus or [str(device)], (0.9 / per_gpu if per_gpu > 1 else None)


SUMMARY_KEYS = ("method", "seed", "status", "error", "skipped", "notes", "run_dir")


def quiet_worker() -> None:
    """A worker process's warnings read as the CLI's do: one line each, said once, no source lines."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:  # never in the caller's own process (tests, notebooks)
        from sedbench.report.console import one_line_warnings

        one_line_warnings()


def _worker_setup(threads: int | None, device: str | None, memory_fraction: float | None) -> None:
    quiet_worker()
    task_signals()
    if threads:
        torch.set_num_threads(threads)
    if memory_fraction and device and device.startswith("cuda"):
        torch.cuda.set_per_process_memory_fraction(memory_fraction, torch.device(device))


def run_task(config: dict[str, Any], method: str, seed: int, results_root: str, cache_root: str,
             force: bool, plugins: tuple[str, ...], threads: int | None = None,
             device: str | None = None, memory_fraction: float | None = None,
             override_methods: bool = False) -> dict[str, Any]:
    """The one run function of every executor (local processes, Ray): self-contained arguments."""
    from sedbench.methods import allow_override

    _worker_setup(threads, device, memory_fraction)
    allow_override(override_methods)
    bench = Benchmark(config, results_root=results_root, cache_root=cache_root, device=device, progress=False,
                      threads=threads)
    record = run_one(bench, method, seed, force=force, plugins=plugins, progress=worker_progress())
    return {k: record.get(k) for k in SUMMARY_KEYS}


def run_matrix(bench: Benchmark, methods: list[str], seeds: list[int], *, jobs: int = 1,
               executor: str = "local", address: str | None = None, force: bool = False,
               gpus_per_run: float | None = None,
               plugins: tuple[str, ...] = (), console=None) -> list[dict[str, Any]]:
    """Data -> features -> teachers -> every (method, seed); returns one summary per pair.

    Wall time per stage goes to ``results/<benchmark>/<hash>/timings/`` (``results.write_timings``; one
    file per run, benchmarks/stages.py prints the latest).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from sedbench.plan import estimate

    # before anything is written: a full disk should stop the run now, not after the data
    estimate(bench.config, student_runs=[(m, 1.0) for m in methods for _ in seeds],
             teachers=teachers_needed(methods, bench, plugins), jobs=jobs, device=bench.device,
             cache_root=bench.cache_root, results_root=bench.results_root, measure_time=False).check_disk()
    log = _MatrixLog()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    try:
        with progress_bars(*columns, console=console) as progress:
            _run_stages(bench, methods, seeds, jobs, executor, address, force, gpus_per_run, plugins, progress, log)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: hours of finished pairs keep their stage table
        if log.wall:
            log.stage(*log.wall)
        _write_matrix_timings(bench, methods, seeds, jobs, executor, log,
                              stopped="terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted")
        raise
    _write_matrix_timings(bench, methods, seeds, jobs, executor, log)
    return log.summaries


@dataclasses.dataclass
class _MatrixLog:
    """What run_matrix has done so far: kept outside its stages so that a stopped run still writes it."""

    stages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    summaries: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    teachers_trained: int = 0
    wall: tuple[str, float] | None = None  # the wall-time stage under way (name, start)

    def stage(self, name: str, start: float) -> None:
        self.stages.append({"stage": name, "seconds": round(time.perf_counter() - start, 2)})
        self.wall = None

    def teachers(self, rows: list[dict[str, Any]]) -> None:
        self.stages += rows
        self.teachers_trained += len(rows)


def _run_stages(bench: Benchmark, methods: list[str], seeds: list[int], jobs: int, executor: str,
                address: str | None, force: bool, gpus_per_run: float | None, plugins: tuple[str, ...],
                progress, log: _MatrixLog) -> None:
    """run_matrix's stages, written into ``log`` as they finish."""
    stage, summaries = log.stage, log.summaries
    bench.progress = progress
    bench.teacher_outcomes.clear()
    bench.teacher_errors.clear()
    t = time.perf_counter()
    bench.dataset  # noqa: B018 - generates desed-synth on first use
    stage("data", t)
    t = time.perf_counter()
    for split in ("train_strong", "train_weak", "train_unlabeled", "validation", "eval"):
        if split in bench.dataset.splits:
            bench.feature_cache.get(split)
    stage("features", t)
    t = time.perf_counter()
    # --force re-runs pairs only; with `teacher_seeds: per_run` each run seed has its own teachers
    missing = missing_teachers(bench, teachers_needed(methods, bench, plugins), seeds)
    lenders = matrix_lenders(bench, methods, plugins)
    pairs = [(m, s) for m in borrowers_last(methods, lenders) for s in seeds]
    built = {m: build_method(m, method_overrides(bench, m, plugins), plugins) for m in methods}
    if executor == "local" and jobs > 1:
        # one pool for teachers and runs: a run starts as soon as its own teachers are cached;
        # on GPUs the tasks are dealt round-robin over the devices, each with its memory share
        devices, memory = spread_devices(bench.device, jobs)
        placed = itertools.count()

        def gpu(i: int) -> dict[str, Any]:
            return dict(device=devices[i % len(devices)], memory_fraction=memory)

        tasks = [ProcessTask(label, teacher_task, dict(name=n, run_seed=rs, config=bench.config,
                             cache_root=str(bench.cache_root), **gpu(next(placed))), priority=1)
                 for label, (n, rs) in missing.items()]
        costs = dict(run_costs(bench, built, [(m, s) for m, s in pairs], plugins))
        for m, s in pairs:
            needs = tuple(label for label in pair_teacher_labels(bench, built[m], s) if label in missing)
            if m in lenders:  # after the run that lends its networks
                needs += (f"{lenders[m]} seed {s}",)
            args = dict(method=m, seed=s, **gpu(next(placed)), **_task_args(bench, force, plugins))
            tasks.append(ProcessTask(f"{m} seed {s}", run_task, args, needs=needs, cost=costs[(m, s)],
                                     on_blocked=functools.partial(blocked_run, bench, m, s, force, plugins)))
        def record(r: dict[str, Any]) -> None:  # as each task finishes: a Ctrl-C later keeps it in the log
            if r["method"].startswith("teacher "):
                bench.teacher_outcomes[r["method"]] = _teacher_outcome(r)
                if r.get("status") != "complete":
                    bench.teacher_errors[r["method"]] = str(r.get("error"))
                log.teachers(_teacher_stages(bench, {r["method"]: missing[r["method"]]}))  # a failed one has none
            else:
                summaries.append(r)

        log.wall = ("teachers and runs (wall)", t)
        run_in_processes(tasks, jobs, progress, "benchmark", threads=bench.threads, on_finish=record)
        stage("teachers and runs (wall)", t)
    else:
        log.wall = ("teachers (wall)", t)
        for label, (name, run_seed) in missing.items():
            try:
                cache = train_teacher(bench, name, progress=progress, run_seed=run_seed)
                bench.teacher_outcomes[label] = "trained" if cache.trained_here else "reused"
            except SedbenchError as exc:  # the runs that need it fail with the reason; the others run
                bench.teacher_outcomes[label] = "failed"
                bench.teacher_errors[label] = str(exc)
            log.teachers(_teacher_stages(bench, {label: (name, run_seed)}))  # a failed teacher has none
        stage("teachers (wall)", t)
        t = time.perf_counter()
        log.wall = ("runs (wall)", t)
        overall = progress.add_task("benchmark", total=len(pairs))
        if executor == "ray":
            _run_ray(bench, pairs, lenders, built, address, force, plugins, progress, overall, summaries,
                     gpus_per_run)
        else:
            busy, failed = [], set()
            for method, seed in pairs:  # a pair another process is running is left for the end
                blocked = failed_teacher(bench, built[method], seed)
                if (lenders.get(method), seed) in failed:  # as the pool does: not a second try inside it
                    blocked = lender_failed(method, seed, lenders[method])
                record = run_one(bench, method, seed, force=force, progress=progress, plugins=plugins,
                                 wait=False, blocked=blocked)
                if record["status"] == "failed":
                    failed.add((method, seed))
                if record["status"] == "busy":
                    busy.append((method, seed))
                    continue
                summaries.append({k: record.get(k) for k in SUMMARY_KEYS})
                finished(progress, overall, summaries[-1])
            for method, seed in busy:  # then wait for it: it is complete (skipped) or ours to redo
                record = run_one(bench, method, seed, force=False, progress=progress, plugins=plugins)
                summaries.append({**{k: record.get(k) for k in SUMMARY_KEYS}, "waited": True})
                finished(progress, overall, summaries[-1])
        stage("runs (wall)", t)


def _write_matrix_timings(bench: Benchmark, methods: list[str], seeds: list[int], jobs: int, executor: str,
                          log: _MatrixLog, stopped: str | None = None) -> None:
    """One command's stage table, with each pair it trained; ``stopped`` says how a stopped run ended."""
    stages, summaries = log.stages, log.summaries
    for summary in summaries:  # the pairs trained by this run (a cached pair's time belongs to its own run)
        if summary.get("skipped") or summary.get("status") != "complete":  # a failed re-run keeps the old record
            continue
        out = Path(summary["run_dir"]) if summary.get("run_dir") else None
        if out is not None and (out / "run.json").is_file():
            record = results.read_record(out)
            timings = record.get("timings", {})
            for part in ("train_s", "eval_s", "complexity_s"):
                lent = record.get("trained_by") or {}
                if part == "train_s" and lent and not lent.get("trained_here"):  # the lender's stage has it
                    continue
                if timings.get(part) is not None:
                    stages.append({"stage": f"{summary['method']} seed {summary['seed']} {part[:-2]}",
                                   "seconds": round(timings[part], 2)})
    # format 2: a stopped command's table lists every teacher and pair it finished (format 1 left out
    # what a --jobs N or Ray command's workers had finished)
    record = {"format": 2, "jobs": jobs, "executor": executor, "device": str(bench.device), "threads": bench.threads,
              "methods": methods, "seeds": seeds, "teachers_trained": log.teachers_trained,
              "pairs_trained": sum(1 for s in summaries if not s.get("skipped") and s.get("status") == "complete"),
              "stages": stages}
    if stopped:
        record["stopped"] = stopped
    results.write_timings(bench.results_root, bench.name, bench.benchmark_hash, record)


def _teacher_outcome(summary: dict[str, Any]) -> str:
    if summary.get("status") != "complete":
        return "failed"
    return "trained" if summary.get("trained") else "reused"


def teacher_label(bench: Benchmark, name: str, run_seed: int | None = None) -> str:
    """``teacher NAME`` for the shared teacher, ``teacher NAME seed S`` for a run seed's own teacher."""
    from sedbench.teachers import teacher_seed

    seed = teacher_seed(bench, run_seed)
    return f"teacher {name}" if seed == teacher_seed(bench) else f"teacher {name} seed {seed}"


def missing_teachers(bench: Benchmark, names: list[str], seeds: list[int]) -> dict[str, tuple[str, int | None]]:
    """The teachers the runs of ``seeds`` need and the cache lacks: {label: (name, run_seed)}."""
    from sedbench.teachers import teacher_dir, teacher_run_seeds

    missing: dict[str, tuple[str, int | None]] = {}
    for run_seed in teacher_run_seeds(bench, seeds):
        for name in names:
            if not (teacher_dir(bench, name, run_seed) / "info.json").is_file():
                missing.setdefault(teacher_label(bench, name, run_seed), (name, run_seed))
    return missing


def _teacher_stages(bench: Benchmark, missing: dict[str, tuple[str, int | None]]) -> list[dict[str, Any]]:
    from sedbench.teachers import read_teacher_info, teacher_dir

    infos = {label: read_teacher_info(teacher_dir(bench, n, rs)) for label, (n, rs) in missing.items()}
    return [{"stage": label, "seconds": round(info.get("train_s", 0.0), 2)}
            for label, info in infos.items() if info is not None]  # a failed teacher has none


def teacher_task(name: str, config: dict[str, Any], cache_root: str, threads: int | None = None,
                 device: str | None = None, run_seed: int | None = None,
                 memory_fraction: float | None = None) -> dict[str, Any]:
    """Train one teacher in a worker process (the teachers of a profile are independent)."""
    _worker_setup(threads, device, memory_fraction)
    bench = Benchmark(config, cache_root=cache_root, device=device, progress=False, threads=threads)
    cache = train_teacher(bench, name, run_seed=run_seed, progress=worker_progress())
    return {"method": teacher_label(bench, name, run_seed), "seed": None, "status": "complete", "error": None,
            "trained": cache.trained_here}


def _task_args(bench: Benchmark, force: bool, plugins: tuple[str, ...]) -> dict[str, Any]:
    from sedbench import methods

    return dict(config=bench.config, results_root=str(bench.results_root), cache_root=str(bench.cache_root),
                force=force, plugins=tuple(str(p) for p in plugins), override_methods=methods._override)


RAY_GPUS_PER_RUN = 0.25  # a student run leaves most of a GPU idle: four share one by default


def ray_gpus_per_run(resources: dict[str, float], requested: float | None = None) -> float:
    """GPUs one Ray task asks for: ``requested``, else a quarter of one when the cluster has GPUs."""
    if requested is not None:
        if requested < 0:
            raise SedbenchError(f"--gpus-per-run {requested}: give a share >= 0 (e.g. 0.25: four runs per GPU)")
        return float(requested)
    return RAY_GPUS_PER_RUN if resources.get("GPU", 0) > 0 else 0.0


def lender_failed(method: str, seed: int, lender: str) -> str:
    """Why a borrower whose lender failed in this matrix does not train (nor its lender a second time)."""
    return f"it deploys {lender} seed {seed}'s network, which failed in this run"


def blocked_run(bench: Benchmark, method: str, seed: int, force: bool, plugins: tuple[str, ...],
                error: str) -> dict[str, Any]:
    """The summary of a pair that cannot train because a teacher or lender it needs failed: its record
    says so (``failed``), so that the next run, ``--dry-run`` and the tables agree with this one."""
    record = run_one(bench, method, seed, force=force, plugins=plugins, wait=False, blocked=error)
    if record["status"] == "busy":  # another process holds it: what it writes stands
        return {"method": method, "seed": seed, "status": "failed", "error": error}
    return {k: record.get(k) for k in SUMMARY_KEYS}


def failed_teacher(bench: Benchmark, method: Method, seed: int) -> str | None:
    """Why a pair cannot train when a teacher it reads failed in this matrix (``bench.teacher_errors``)."""
    return next((f"{label} failed: {bench.teacher_errors[label]}" for label in pair_teacher_labels(bench, method, seed)
                 if label in bench.teacher_errors), None)


def pair_teacher_labels(bench: Benchmark, method: Method, seed: int) -> list[str]:
    """The labels (``teacher NAME``, with its seed under per-run teachers) of the teachers a pair reads."""
    return list(dict.fromkeys(teacher_label(bench, part, seed) for teacher in method.teachers()
                              for part in teacher.split("+")))


def _run_ray(bench, pairs, lenders, built, address, force, plugins, progress, overall,
             summaries: list[dict[str, Any]], gpus_per_run: float | None = None) -> None:
    """Each pair as a Ray task; its summary goes into ``summaries`` as it finishes (a Ctrl-C keeps them)."""
    try:
        import ray
    except ImportError:
        raise SedbenchError("--executor ray needs Ray: pip install 'sedbench[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    # what the cluster has, not what the driver has: a CPU-only head can schedule GPU workers
    gpus = ray_gpus_per_run(ray.cluster_resources(), gpus_per_run)
    # as many CPUs as torch threads: the thread count is part of a run's identity (and its teachers' keys)
    remote = ray.remote(num_gpus=gpus, num_cpus=bench.threads)(run_task)
    args = _task_args(bench, force, plugins)

    def submit(m: str, s: int):
        return remote.remote(method=m, seed=s, threads=bench.threads, device=None, **args)

    # a borrower is submitted once its lender's run of the seed is done: submitted together, it could
    # deploy the lender's old network (--force) or train the lender inside itself beside the lender's task
    runnable = []
    for m, s in pairs:
        blocked = failed_teacher(bench, built[m], s)
        if blocked:  # its teacher failed here: recorded, never submitted
            summaries.append(blocked_run(bench, m, s, force, plugins, blocked))
            finished(progress, overall, summaries[-1])
        else:
            runnable.append((m, s))
    pairs = runnable
    waiting = {(m, s): (lenders[m], s) for m, s in pairs if m in lenders}
    refs = {submit(m, s): (m, s) for m, s in pairs if (m, s) not in waiting}
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        method, seed = refs[done[0]]
        try:
            summary = ray.get(done[0])
        except Exception as exc:
            summary = {"method": method, "seed": seed, "status": "failed", "error": str(exc)}
        summaries.append(summary)
        finished(progress, overall, summary)
        for pair in [p for p, lender in waiting.items() if lender == (method, seed)]:
            del waiting[pair]
            if summary.get("status") == "complete":
                ref = submit(*pair)
                refs[ref] = pair
                pending.append(ref)
            else:
                summaries.append(blocked_run(bench, *pair, force, plugins, lender_failed(*pair, method)))
                finished(progress, overall, summaries[-1])
