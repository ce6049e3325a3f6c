"""The run matrix: method/seed resolution, dry run, resume after an interruption, executors."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sedbench import results, runner
from sedbench.benchmark import Benchmark
from sedbench.cli import cli
from sedbench.errors import SedbenchError, Terminated
from sedbench.report.tables import comparison_table
from sedbench.results import load
from tests.conftest import make_tiny_bench


def test_resolve_methods_all_lists_globs_and_typos():
    assert runner.resolve_methods("all")[0] == "scratch"
    assert len(runner.resolve_methods("all")) >= 8
    assert runner.resolve_methods("vanilla, scratch") == ["vanilla", "scratch"]
    assert set(runner.resolve_methods("*kd")) == {"takd"}
    assert "eefd" in runner.resolve_methods("e*")
    with pytest.raises(SedbenchError, match="did you mean"):
        runner.resolve_methods("vanila")
    with pytest.raises(SedbenchError, match="no method matches"):
        runner.resolve_methods("zz*")


def test_resolve_seeds(tiny_bench):
    assert runner.resolve_seeds("3", tiny_bench) == [0, 1, 2]
    assert runner.resolve_seeds("4,7", tiny_bench) == [4, 7]
    assert runner.resolve_seeds(None, tiny_bench) == [0]
    assert runner.resolve_seeds("2,", tiny_bench) == [2]  # one seed alone: a bare 2 is a count
    with pytest.raises(SedbenchError, match="--seeds"):
        runner.resolve_seeds("three", tiny_bench)
    with pytest.raises(SedbenchError, match="trailing comma"):  # `--seeds 0` is a count of none
        runner.resolve_seeds("0", tiny_bench)


def copy_bench(bench: Benchmark, results_root) -> Benchmark:
    return Benchmark(bench.config, results_root=results_root, cache_root=bench.cache_root, device="cpu",
                     progress=False)


def psds_table(bench: Benchmark):
    df = load(bench.results_root, benchmark=bench.name)
    tables = [comparison_table(df, metric=m, reference="scratch", benchmark=bench.name).set_index("method")
              [["mean", "n"]].add_prefix(m + "_") for m in ("psds1", "intersection_f1", "weak_map")]
    return tables[0].join(tables[1:]).sort_index()


def test_killed_matrix_resumes_to_the_same_table(tiny_bench, tiny_teachers, tmp_path, monkeypatch):
    methods, seeds = ["scratch", "vanilla"], [0]
    straight = copy_bench(tiny_bench, tmp_path / "straight")
    runner.run_matrix(straight, methods, seeds)

    resumed = copy_bench(tiny_bench, tmp_path / "resumed")
    real_run_one = runner.run_one

    def killed_on_vanilla(bench, method, seed, **kwargs):
        if method == "vanilla":
            raise Terminated
        return real_run_one(bench, method, seed, **kwargs)

    monkeypatch.setattr(runner, "run_one", killed_on_vanilla)
    with pytest.raises(KeyboardInterrupt):
        runner.run_matrix(resumed, methods, seeds)
    monkeypatch.setattr(runner, "run_one", real_run_one)
    # the stopped command still wrote its stage table: what it trained, its wall time, how it ended
    killed = json.loads(results.find_timings(resumed.results_root, resumed.name, resumed.benchmark_hash).read_text())
    stages = [s["stage"] for s in killed["stages"]]
    assert killed["stopped"] == "terminated (SIGTERM)" and killed["pairs_trained"] == 1
    assert "runs (wall)" in stages and "scratch seed 0 train" in stages and "vanilla seed 0 train" not in stages
    assert runner.pair_status(resumed, "scratch", 0) == "cached"
    assert runner.pair_status(resumed, "vanilla", 0) == "pending"
    summaries = runner.run_matrix(resumed, methods, seeds)
    assert {s["method"]: bool(s.get("skipped")) for s in summaries} == {"scratch": True, "vanilla": False}
    table = psds_table(resumed)
    assert table.equals(psds_table(straight))
    assert (table["weak_map_mean"] > 0).all()  # PSDS1 is 0 on tiny: the comparison needs non-zero metrics


def test_a_stopped_pool_command_lists_the_pairs_its_workers_finished(tiny_bench, tiny_teachers, tmp_path,
                                                                      monkeypatch):
    """`--jobs N`: the pool's summaries reach the stage table as they finish, so Ctrl-C after hours of
    finished pairs keeps them (collecting the pool's returned list lost them all: it never returns)."""
    bench = copy_bench(tiny_bench, tmp_path / "pool")

    def pool_stopped_after_one(tasks, jobs, progress, label, threads=None, on_finish=None):
        record = runner.run_one(bench, "scratch", 0)  # the one task a worker finished before Ctrl-C
        assert on_finish is not None, "the pool's finished tasks must reach run_matrix before it returns"
        on_finish({k: record.get(k) for k in runner.SUMMARY_KEYS})
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_in_processes", pool_stopped_after_one)
    with pytest.raises(KeyboardInterrupt):
        runner.run_matrix(bench, ["scratch", "vanilla"], [0], jobs=2)
    table = json.loads(results.find_timings(bench.results_root, bench.name, bench.benchmark_hash).read_text())
    stages = [s["stage"] for s in table["stages"]]
    assert table["stopped"] == "interrupted" and table["pairs_trained"] == 1 and table["format"] == 2
    assert "teachers and runs (wall)" in stages and "scratch seed 0 train" in stages


def test_dry_run_shows_cached_and_pending(tiny_bench, tiny_teachers, tmp_path):
    bench = copy_bench(tiny_bench, tmp_path / "dry")  # results of its own: other tests run vanilla too
    runner.run_one(bench, "scratch", 0)
    result = CliRunner().invoke(cli, [
        "run", "--profile", "tiny", "--methods", "scratch,vanilla,environment-mask", "--dry-run",
        "--results", str(bench.results_root), "--cache", str(bench.cache_root),
        "--set", f"data.root={tiny_bench.config['data']['root']}"])
    assert result.exit_code == 0, result.output
    assert "cached" in result.output and "teacher cnn: cached" in result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "cached" in rows["scratch"] and "will train" in rows["vanilla"]
    assert "vanilla's" in rows["environment-mask"] and "will train" not in rows["environment-mask"]
    assert "trains vanilla's" not in rows["environment-mask"]
    # without vanilla in the matrix nor cached, the borrower trains its lender inside itself: say so
    result = CliRunner().invoke(cli, [
        "run", "--profile", "tiny", "--methods", "environment-mask", "--seeds", "0,", "--dry-run",
        "--results", str(bench.results_root), "--cache", str(bench.cache_root),
        "--set", f"data.root={tiny_bench.config['data']['root']}"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "trains vanilla's" in rows["environment-mask"]


def test_a_pair_left_interrupted_or_failed_says_where_it_trains_again_from(tiny_bench, tiny_teachers, tmp_path):
    bench = copy_bench(tiny_bench, tmp_path / "unfinished")
    record = runner.run_one(bench, "scratch", 0)
    out = runner.run_dir_for(bench, "scratch", 0)
    for left, status in (("interrupted", "interrupted"), ("running", "interrupted"), ("failed", "failed")):
        results.write_record(out, {**record, "status": left})  # "running" without its lock: a killed process
        assert runner.pair_status(bench, "scratch", 0) == status
        where = " (from step 0)"  # it left no checkpoint
        assert runner.unfinished_pairs(bench, ["scratch", "vanilla"], [0]) == {status: [f"scratch seed 0{where}"]}
    results.write_record(out, {**record, "status": "interrupted", "config_hash": "other settings"})
    assert runner.pair_status(bench, "scratch", 0) == "pending"  # another setting's record says nothing here
    results.write_record(out, {**record, "status": "interrupted"})
    args = ["run", "--profile", "tiny", "--methods", "scratch", "--seeds", "0,", "--results", str(bench.results_root),
            "--cache", str(bench.cache_root), "--set", f"data.root={tiny_bench.config['data']['root']}"]
    result = CliRunner().invoke(cli, [*args, "--dry-run"])
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "interrupted: from step 0" in rows["scratch"], result.output
    result = CliRunner().invoke(cli, [*args, "--no-table"])
    assert result.exit_code == 0, result.output
    assert ("interrupted earlier: scratch seed 0 (from step 0); it trains again from the step in brackets"
            in " ".join(result.output.split()))
    assert "1 trained" in result.output and runner.pair_status(bench, "scratch", 0) == "cached"


def test_a_damaged_record_trains_its_pair_again_and_keeps_the_damaged_folder_aside(tiny_bench, tiny_teachers,
                                                                                    tmp_path):
    """A truncated run.json stopped `sedbench run` of the whole settings group (even --force and
    --dry-run) with advice it could not follow; the tables skip such a file with a note."""
    bench = copy_bench(tiny_bench, tmp_path / "damaged")
    runner.run_one(bench, "scratch", 0)
    out = runner.run_dir_for(bench, "scratch", 0)
    damaged = (out / "run.json").read_bytes()[:100]
    (out / "run.json").write_bytes(damaged)
    assert runner.pair_status(bench, "scratch", 0) == "damaged"
    assert runner.unfinished_pairs(bench, ["scratch"], [0]) == {"damaged": ["scratch seed 0"]}
    args = ["run", "--profile", "tiny", "--methods", "scratch", "--seeds", "0,", "--results", str(bench.results_root),
            "--cache", str(bench.cache_root), "--set", f"data.root={tiny_bench.config['data']['root']}"]
    result = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert result.exit_code == 0 and "damaged record: again" in result.output, result.output
    result = CliRunner().invoke(cli, [*args, "--no-table"])
    assert result.exit_code == 0, result.output
    assert runner.pair_status(bench, "scratch", 0) == "cached"
    aside = list(out.parent.glob(f".{out.name}.damaged-*"))
    assert len(aside) == 1 and (aside[0] / "run.json").read_bytes() == damaged  # nothing is thrown away
    assert len(load(bench.results_root, benchmark=bench.name)) == 1  # the tables never read it
    # a damaged lender: its borrower's status and the dry run do not stop on it (they did)
    for method in ("vanilla", "environment-mask"):
        assert runner.run_one(bench, method, 0)["status"] == "complete"
    lender = runner.run_dir_for(bench, "vanilla", 0)
    (lender / "run.json").write_bytes((lender / "run.json").read_bytes()[:100])
    assert runner.pair_status(bench, "vanilla", 0) == "damaged"
    assert runner.pair_status(bench, "environment-mask", 0) == "pending"
    result = CliRunner().invoke(cli, [*args[:4], "vanilla,environment-mask", *args[5:], "--dry-run"])
    assert result.exit_code == 0 and "damaged record: again" in result.output, result.output


def test_a_forced_rerun_that_does_not_finish_keeps_the_earlier_result(tiny_bench, tiny_teachers, tmp_path,
                                                                      monkeypatch):
    bench = copy_bench(tiny_bench, tmp_path / "forced")
    first = runner.run_one(bench, "scratch", 0)
    out = runner.run_dir_for(bench, "scratch", 0)
    kept = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    real_train = runner.train_and_select

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def crashing(*args, **kwargs):  # fails after the new run wrote its scores, before its record
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner, "train_and_select", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_one(bench, "scratch", 0, force=True)
    monkeypatch.setattr(runner, "train_and_select", real_train)
    monkeypatch.setattr(runner, "deployed_complexity", crashing)
    failed = runner.run_one(bench, "scratch", 0, force=True)
    assert failed["status"] == "failed" and failed["error"].endswith("(its earlier complete result is kept)")
    record = results.read_record(out)
    assert record["status"] == "complete" and record["metrics"] == first["metrics"]
    assert [r["status"] for r in record["reruns"]] == ["interrupted", "failed"]
    assert {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
            if p.name != "run.json"} == {k: v for k, v in kept.items() if k.name != "run.json"}
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, f".{out.name}.lock"])
    assert runner.pair_status(bench, "scratch", 0) == "cached"
    assert len(load(bench.results_root)) == 1

    # a re-run killed (kill -9) mid-way, or between the two renames of its swap: the next claim mends it
    monkeypatch.undo()
    (out.parent / f".{out.name}.rerun").mkdir()
    results.write_record(out.parent / f".{out.name}.rerun", {**first, "status": "running"})
    assert len(load(bench.results_root)) == 1  # work in progress is not a result
    assert runner.run_one(bench, "scratch", 0).get("skipped")
    assert not (out.parent / f".{out.name}.rerun").exists()
    out.rename(out.parent / f".{out.name}.replaced")
    assert runner.run_one(bench, "scratch", 0).get("skipped")  # the earlier run back in place
    # killed between the renames of a swap whose new run was whole: the new run is put in place
    shutil.copytree(out, out.parent / f".{out.name}.rerun")
    results.write_record(out.parent / f".{out.name}.rerun", {**first, "finished": "the new one"})
    out.rename(out.parent / f".{out.name}.replaced")
    assert runner.run_one(bench, "scratch", 0)["finished"] == "the new one"
    again = runner.run_one(bench, "scratch", 0, force=True)  # a finished re-run replaces it
    assert again["status"] == "complete" and not again.get("skipped")
    assert results.read_record(out)["finished"] == again["finished"] and "reruns" not in results.read_record(out)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, f".{out.name}.lock"])


def test_local_processes_run_pairs_in_parallel(tiny_bench, tiny_teachers, tmp_path):
    bench = copy_bench(tiny_bench, tmp_path / "jobs")
    summaries = runner.run_matrix(bench, ["scratch"], [0, 1], jobs=2)
    assert sorted(s["seed"] for s in summaries) == [0, 1]
    assert all(s["status"] == "complete" for s in summaries), summaries


def test_local_processes_train_missing_teachers_before_their_runs(tiny_bench, tmp_path):
    bench = Benchmark(tiny_bench.config, results_root=tmp_path / "results", cache_root=tmp_path / "cache",
                      device="cpu", progress=False)  # an empty cache: the teacher is trained in the pool
    summaries = runner.run_matrix(bench, ["scratch", "vanilla"], [0], jobs=2)
    assert sorted(s["method"] for s in summaries) == ["scratch", "vanilla"]
    assert all(s["status"] == "complete" for s in summaries), summaries
    first = results.find_timings(tmp_path / "results", bench.name, bench.benchmark_hash)
    timings = json.loads(first.read_text())
    stages = [s["stage"] for s in timings["stages"]]
    assert "teacher cnn" in stages and "teachers and runs (wall)" in stages
    assert timings["pairs_trained"] == 2 and timings["teachers_trained"] == 1
    # a resume finds everything cached: its own timings file, and the trained run's stays the one reported
    runner.run_matrix(bench, ["scratch", "vanilla"], [0], jobs=2)
    files = sorted(first.parent.glob("*.json"))
    assert len(files) == 2 and json.loads(first.read_text()) == timings
    assert results.find_timings(tmp_path / "results", bench.name) == first
    assert results.find_timings(tmp_path / "results", bench.name, trained=False) != first


def test_ray_executor_runs_tiny_runs(tiny_bench, tiny_teachers, tmp_path):
    ray = pytest.importorskip("ray")
    bench = copy_bench(tiny_bench, tmp_path / "ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summaries = runner.run_matrix(bench, ["environment-mask", "scratch", "vanilla"], [0], executor="ray")
    finally:
        ray.shutdown()
    assert all(s["status"] == "complete" for s in summaries), summaries
    assert len(load(bench.results_root)) == 3
    # the borrower was submitted after its lender's task: it deployed that run, and trained nothing
    lent = results.read_record(runner.run_dir_for(bench, "environment-mask", 0))["trained_by"]
    mask = runner.build_method("environment-mask", runner.method_overrides(bench, "environment-mask"))
    assert not lent["trained_here"] and lent["finished"] == runner.lender_record(bench, mask, 0)["finished"]


def test_gpu_runs_spread_over_devices_with_a_memory_share(monkeypatch):
    import torch

    from sedbench.runner import ray_gpus_per_run, spread_devices

    assert spread_devices(torch.device("cpu"), 4) == (["cpu"], None)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    devices, share = spread_devices(torch.device("cuda"), 4)
    assert devices == ["cuda:0", "cuda:1"] and share == pytest.approx(0.45)
    assert spread_devices(torch.device("cuda:1"), 1) == (["cuda:1"], None)
    assert ray_gpus_per_run({"GPU": 8.0}) == 0.25 and ray_gpus_per_run({"CPU": 64.0}) == 0.0
    assert ray_gpus_per_run({"GPU": 8.0}, 1.0) == 1.0


def test_dry_run_prints_time_and_disk_and_refuses_a_full_disk(tmp_path, monkeypatch):
    from sedbench import plan

    monkeypatch.chdir(tmp_path)
    args = ["run", "--profile", "tiny", "--methods", "scratch", "--dry-run", "--results", str(tmp_path / "r"),
            "--cache", str(tmp_path / "c")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "estimate for this machine" in result.output and "GiB" in result.output
    assert "data generation" in result.output and "runs" in result.output
    assert not (tmp_path / "data").exists() and not (tmp_path / "r").exists()  # a dry run writes nothing
    monkeypatch.setattr(plan, "free_bytes", lambda path: 1000.0)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "not enough disk" in result.output and "GiB" in result.output


def test_the_estimate_deals_runs_to_workers_like_the_runner():
    from sedbench.plan import makespan

    assert makespan([10.0, 10.0, 10.0], 2) == 20.0  # not 15: the third run waits for a free worker
    assert makespan([30.0, 10.0, 10.0, 10.0], 2) == 30.0  # longest first, the rest beside it
    assert makespan([5.0, 5.0], 4) == 5.0 and makespan([], 2) == 0.0


def test_the_estimate_times_a_step_with_the_threads_each_run_gets(tmp_path, monkeypatch):
    # --jobs 2 on 2 cores: each run trains on 1 thread, so the probe must too (timed on all the
    # CPUs, quick's estimate was 2.5x too short)
    import torch

    from sedbench import plan

    seen = []
    monkeypatch.setattr(plan, "time_train_step", lambda *a, **k: seen.append(torch.get_num_threads()) or 0.01)
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--methods", "scratch", "--dry-run", "--threads",
                                          "1", "--results", str(tmp_path / "r"), "--cache", str(tmp_path / "c")])
        assert torch.get_num_threads() == 2  # restored afterwards
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    assert seen and set(seen) == {1}


def test_a_borrowed_network_follows_its_lenders_current_run(tiny_bench, tiny_teachers, tmp_path):
    from sedbench.locks import claim

    bench = copy_bench(tiny_bench, tmp_path / "results")
    mask = runner.run_one(bench, "environment-mask", 0)  # vanilla is not cached: trained inside this run
    assert mask["status"] == "complete", mask.get("error")
    assert mask["trained_by"]["trained_here"] and runner.pair_status(bench, "vanilla", 0) == "cached"
    assert runner.pair_status(bench, "environment-mask", 0) == "cached"
    vanilla = runner.run_one(bench, "vanilla", 0, force=True)  # a new vanilla network: the borrowed one is stale
    assert runner.pair_status(bench, "environment-mask", 0) == "pending"
    again = runner.run_one(bench, "environment-mask", 0)
    assert not again.get("skipped") and not again["trained_by"]["trained_here"]
    assert again["trained_by"]["finished"] == vanilla["finished"]
    # while another process trains the lender, a matrix that does not wait comes back to the borrower later
    runner.run_one(bench, "vanilla", 1, force=True)
    lender = runner.run_dir_for(bench, "vanilla", 2)
    lender.parent.mkdir(parents=True, exist_ok=True)
    with claim(lender.parent / f".{lender.name}.lock"):
        busy = runner.run_one(bench, "environment-mask", 2, wait=False)
    assert busy["status"] == "busy" and not (runner.run_dir_for(bench, "environment-mask", 2) / "run.json").exists()


def test_a_lender_that_fails_is_not_trained_again_inside_its_borrower(tiny_bench, tiny_teachers, tmp_path,
                                                                      monkeypatch):
    bench = copy_bench(tiny_bench, tmp_path / "failed-lender")
    trained = []

    def failing(bench, method, seed, **kwargs):
        trained.append(method.name)
        raise SedbenchError("injected: out of disk")

    monkeypatch.setattr(runner, "train_and_select", failing)
    summaries = {s["method"]: s for s in runner.run_matrix(bench, ["environment-mask", "vanilla"], [0], jobs=1)}
    assert trained == ["vanilla"]
    assert summaries["vanilla"]["status"] == "failed"
    assert summaries["environment-mask"]["status"] == "failed"
    assert "vanilla seed 0" in summaries["environment-mask"]["error"]
    # the borrower's record says why, so that the next run and --dry-run agree with this one
    assert runner.pair_status(bench, "environment-mask", 0) == "failed"
    assert "vanilla seed 0" in results.read_record(runner.run_dir_for(bench, "environment-mask", 0))["error"]


def test_a_run_that_fails_after_writing_its_scores_leaves_only_its_record(tiny_bench, tiny_teachers, tmp_path,
                                                                          monkeypatch):
    bench = copy_bench(tiny_bench, tmp_path / "half")

    def crashing(*args, **kwargs):  # after the scores and ground truth are written, before the record
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner, "deployed_complexity", crashing)
    record = runner.run_one(bench, "scratch", 0)
    assert record["status"] == "failed"
    out = runner.run_dir_for(bench, "scratch", 0)
    # no scores or network; the training's last checkpoint stays, so the next run does not train it again
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "run.json"]
    assert runner.resume_point(bench, "scratch", 0) == "step 6"

@pytest.mark.parametrize("executor", ["jobs 1", "jobs 2", "ray"])
def test_the_runs_of_a_failed_teacher_record_why_they_did_not_train(tiny_bench, tmp_path, executor):
    config = copy.deepcopy(tiny_bench.config)
    config["teacher_training"] = {**config.get("teacher_training", {}), "lr": 1e12}  # the teacher's loss diverges
    bench = Benchmark(config, results_root=tmp_path / "results", cache_root=tiny_bench.cache_root, device="cpu",
                      progress=False)
    if executor == "ray":  # the teachers train in the driver; the blocked pair is never submitted
        ray = pytest.importorskip("ray")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            summaries = {s["method"]: s for s in runner.run_matrix(bench, ["vanilla"], [0], executor="ray")}
        finally:
            ray.shutdown()
    else:
        summaries = {s["method"]: s for s in runner.run_matrix(bench, ["scratch", "vanilla"], [0],
                                                               jobs=int(executor[-1]))}
        assert summaries["scratch"]["status"] == "complete"
    assert summaries["vanilla"]["status"] == "failed"
    error = summaries["vanilla"]["error"]
    assert error.startswith("teacher cnn failed:") and "not finite" in error
    record = results.read_record(runner.run_dir_for(bench, "vanilla", 0))
    assert record["status"] == "failed" and record["error"] == summaries["vanilla"]["error"]
    assert runner.pair_status(bench, "vanilla", 0) == "failed"


def test_a_teacher_that_crashes_fails_its_runs_in_one_line_and_keeps_its_traceback(tiny_bench, tmp_path,
                                                                                  monkeypatch):
    # a crash (not a diverged loss) inside a teacher's training, e.g. CUDA running out of memory
    from sedbench.training import fit

    def crashing(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nGPU 0 has a total capacity of 80 GiB")

    monkeypatch.setattr(fit, "_train_teacher", crashing)
    config = copy.deepcopy(tiny_bench.config)
    config["teacher_training"] = {**config.get("teacher_training", {}), "lr": 0.0123}  # a teacher not yet cached
    bench = Benchmark(config, results_root=tmp_path / "results", cache_root=tiny_bench.cache_root, device="cpu",
                      progress=False)
    summaries = {s["method"]: s for s in runner.run_matrix(bench, ["scratch", "vanilla"], [0], jobs=1)}
    assert summaries["scratch"]["status"] == "complete"  # the matrix went on
    error = summaries["vanilla"]["error"]
    assert error.startswith("teacher cnn failed: teacher cnn: training raised RuntimeError: CUDA out of memory.")
    assert "\n" not in error and "GPU 0" not in error
    log = Path(error.split("(traceback: ")[1].rstrip(")"))
    assert "GPU 0 has a total capacity" in log.read_text() and "crashing" in log.read_text()


def test_a_lender_comes_first_in_every_executors_order(tiny_bench):
    order = runner.lenders_first(tiny_bench, ["environment-mask", "scratch", "vanilla"])
    assert order.index("vanilla") < order.index("environment-mask") and order[0] == "scratch"
    assert runner.lenders_first(tiny_bench, ["environment-mask"]) == ["environment-mask"]


def test_a_probe_that_dies_gives_no_contention_figure_instead_of_hanging():
    import torch

    from sedbench.plan import time_train_step_concurrently

    assert time_train_step_concurrently(2, 1, "no-such-model", {}, 16, 64, 10, 4, torch.device("cpu")) is None


def test_the_estimate_measures_how_parallel_processes_slow_each_other(tmp_path, monkeypatch):
    # --jobs 2 on a CPU: the two processes' steps were timed alone and the matrix took 1.3x longer
    import torch

    from sedbench import plan
    from sedbench.config import load_profile

    config = load_profile("tiny")
    config["data"]["root"] = str(tmp_path / "data")
    kwargs = dict(teachers=[], device=torch.device("cpu"), cache_root=tmp_path, results_root=tmp_path)
    monkeypatch.setattr(plan, "time_features", lambda *a, **k: 0.0)
    monkeypatch.setattr(plan, "time_clip_synthesis", lambda *a, **k: 0.0)
    monkeypatch.setattr(plan, "time_train_step", lambda *a, **k: 0.1)
    calls, beside = [], {"seconds": 0.1}
    monkeypatch.setattr(plan, "time_train_step_concurrently", lambda jobs, *a: calls.append(jobs) or beside["seconds"])
    plan.estimate(config, student_runs=[("scratch", 1.0)] * 2, jobs=1, **kwargs)
    assert calls == []  # measured only when processes do train at once
    unaffected = plan.estimate(config, student_runs=[("scratch", 1.0)] * 2, jobs=2, **kwargs)
    beside["seconds"] = 0.15
    together = plan.estimate(config, student_runs=[("scratch", 1.0)] * 2, jobs=2, **kwargs)
    assert calls == [2, 2]
    steps = config["training"]["steps"]
    assert together.seconds["runs"] - unaffected.seconds["runs"] == pytest.approx(0.05 * steps)
    assert any("1.50x" in note for note in together.notes) and not any("x its" in n for n in unaffected.notes)
    one = plan.estimate(config, student_runs=[("scratch", 1.0)], jobs=2, **kwargs)  # one run: nothing beside it
    assert calls == [2, 2] and not any("x its time alone" in note for note in one.notes)


def test_the_estimate_counts_each_teachers_own_schedule(tmp_path, monkeypatch):
    # teachers.NAME.training.steps: a teacher trained longer than the zoo is estimated at its own steps,
    # built from its model options alone (its `training:` is not a model option)
    import torch

    from sedbench import plan
    from sedbench.config import load_profile

    config = load_profile("tiny", ["teachers.transformer.training.steps=60"])
    config["data"]["root"] = str(tmp_path / "data")
    monkeypatch.setattr(plan, "time_features", lambda *a, **k: 0.0)
    monkeypatch.setattr(plan, "time_clip_synthesis", lambda *a, **k: 0.0)
    built = []
    monkeypatch.setattr(plan, "time_train_step", lambda model, options, *a, **k: built.append(options) or 1.0)
    kwargs = dict(student_runs=[], jobs=1, device=torch.device("cpu"), cache_root=tmp_path, results_root=tmp_path)
    zoo_steps = config["teacher_training"]["steps"]
    assert plan.estimate(config, teachers=["cnn"], **kwargs).seconds["teachers"] == zoo_steps
    assert plan.estimate(config, teachers=["transformer"], **kwargs).seconds["teachers"] == 60
    assert all("training" not in options for options in built)


def test_the_concurrent_step_probe_runs_in_parallel_processes():
    import torch

    from sedbench.config import load_profile
    from sedbench.plan import time_train_step_concurrently

    config = load_profile("tiny")
    student = {k: v for k, v in config["student"].items() if k not in ("model", "max_params", "max_macs")}
    seconds = time_train_step_concurrently(2, 1, config["student"]["model"], student, config["features"]["n_mels"],
                                           64, 10, 4, torch.device("cpu"))
    assert 0.0 < seconds < 10.0


def test_sigterm_ends_a_command_like_ctrl_c():
    """``kill`` of a run must leave its record ``interrupted`` (run_one handles KeyboardInterrupt),
    not ``running`` forever."""
    import os
    import signal

    from sedbench.errors import Terminated, terminate_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    try:
        terminate_as_interrupt()
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 1)  # let the handler run (it runs between bytecodes)
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_run_shares_another_methods_training_only_under_equal_hyperparameters(tiny_bench, tmp_path):
    from sedbench.methods import build_method, method_settings
    from sedbench.runner import run_costs, run_identity, shared_source

    def built(bench, name):
        return build_method(name, method_settings(bench.config, name))

    mask = built(tiny_bench, "environment-mask")
    assert shared_source(tiny_bench, mask).name == "vanilla"
    assert shared_source(tiny_bench, built(tiny_bench, "vanilla")) is None
    # the lending method's source is in the control's identity: a changed vanilla makes it stale
    assert run_identity(tiny_bench, mask, 0).config["method"]["trains_as"]["name"] == "vanilla"
    # a study that changes the control's tau, or vanilla's, trains the control's own network
    for override in ("methods.environment-mask.tau=3.0", "methods.vanilla.tau=3.0"):
        other = make_tiny_bench(tmp_path, **{override.split("=")[0]: override.split("=")[1]})
        assert shared_source(other, built(other, "environment-mask")) is None, override
        # its own network, trained by vanilla's code: a changed vanilla.py still makes it stale
        assert run_identity(other, built(other, "environment-mask"), 0).config["method"]["trains_as"] == {
            "name": "vanilla", "source_hash": built(other, "vanilla").source_hash, "own_network": True}
    # the estimate: nothing to train when the lending run is in the matrix, its cost when it is not
    methods = {m: built(tiny_bench, m) for m in ("vanilla", "environment-mask")}
    both = dict(run_costs(tiny_bench, methods, [("vanilla", 9), ("environment-mask", 9)]))
    assert both[("environment-mask", 9)] == 0.0 and both[("vanilla", 9)] == methods["vanilla"].relative_cost
    alone = dict(run_costs(tiny_bench, methods, [("environment-mask", 9)]))
    assert alone[("environment-mask", 9)] == methods["vanilla"].relative_cost


def test_a_latency_timed_on_a_busy_core_is_not_cached_for_later_runs(tmp_path):
    from types import SimpleNamespace

    bench = SimpleNamespace(config={"student": {"model": "se-crnn"}, "features": {}}, device="cpu",
                            cache_root=tmp_path, student_model="se-crnn", feature_cfg=None)
    calls = []

    def measure(net, feature_cfg, **settings):  # a busy core first (wall 2x CPU time), then an idle one
        calls.append(1)
        wall = 40.0 if len(calls) == 1 else 21.0
        return {"params": 1, "latency": {"cpu_1_thread": {"model": {"median_ms": wall, "cpu_median_ms": 20.0}}}}

    first = runner.deployed_complexity(bench, None, measure)
    assert first["measured_in_run"] and not list(tmp_path.rglob("*.json"))
    second = runner.deployed_complexity(bench, None, measure)
    assert second["measured_in_run"] and len(list(tmp_path.rglob("*.json"))) == 1
    third = runner.deployed_complexity(bench, None, measure)
    assert not third["measured_in_run"] and len(calls) == 2
    assert third["latency"]["cpu_1_thread"]["model"]["median_ms"] == 21.0
