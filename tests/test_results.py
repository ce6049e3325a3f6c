import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from sedbench.errors import SedbenchError
from sedbench.evaluation.synthetic import fake_record
from sedbench.results import environment_info, load, read_record, run_dir, select_comparable, write_record


def readme_results():
    """benchmarks/readme_results.py as a module (a script, not part of the package)."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "readme_results.py"
    spec = importlib.util.spec_from_file_location("readme_results", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_dir_layout(tmp_path):
    assert run_dir(tmp_path, "quick", "vanilla", 3) == tmp_path / "quick" / "vanilla" / "seed-3"


def test_record_round_trip_is_atomic_json(tmp_path):
    d = run_dir(tmp_path, "quick", "scratch", 0)
    write_record(d, fake_record("scratch", 0, 0.31))
    assert read_record(d)["metrics"]["psds1"] == 0.31
    assert [p.name for p in d.iterdir()] == ["run.json"]
    (d / "run.json").write_text("{broken")
    with pytest.raises(SedbenchError, match="unreadable"):
        read_record(d)


def test_load_flattens_and_keeps_benchmarks_and_hashes_apart(tmp_path):
    write_record(run_dir(tmp_path, "quick", "scratch", 0), fake_record("scratch", 0, 0.3, benchmark="quick"))
    write_record(
        run_dir(tmp_path, "quick", "vanilla", 0),
        fake_record(
            "vanilla", 0, 0.4, benchmark="quick", benchmark_hash="new", finished="2026-02-01T00:00:00+00:00"
        ),
    )
    write_record(run_dir(tmp_path, "full", "scratch", 0), fake_record("scratch", 0, 0.5, benchmark="full"))
    df = load(tmp_path)
    assert len(df) == 3
    assert set(zip(df["benchmark"], df["benchmark_hash"], strict=False)) == {
        ("quick", "synth0000000"),
        ("quick", "new"),
        ("full", "synth0000000"),
    }
    row = df[df["benchmark"] == "full"].iloc[0]
    assert row["psds1"] == 0.5 and row["per_class_psds1.a"] == 0.5 and row["val_psds1"] == 0.5
    assert row["params"] == 300_000 and row["latency_cpu_1t_ms"] == 3.0 and row["train_s"] == 100.0
    assert len(load(tmp_path, benchmark="quick")) == 2
    assert load(tmp_path / "missing").empty

    with pytest.raises(SedbenchError, match="several benchmarks"):
        select_comparable(df)
    runs, notes = select_comparable(df, "quick")
    assert list(runs["method"]) == ["vanilla"] and "newest" in notes[0]
    runs, _ = select_comparable(df, "quick", benchmark_hash="synth")
    assert list(runs["method"]) == ["scratch"]
    # two records of one (method, seed) that no variant tells apart (older records): refused, with both
    # folders, instead of a mean over both beside a test that read one of them
    twice = pd.concat([runs, runs.assign(run_dir="elsewhere/seed-0")], ignore_index=True)
    with pytest.raises(SedbenchError, match="two complete runs of scratch seed 0 .*elsewhere/seed-0"):
        select_comparable(twice, "quick")


def test_only_complete_runs_enter_comparisons(tmp_path):
    write_record(run_dir(tmp_path, "b", "scratch", 0), fake_record("scratch", 0, 0.3))
    write_record(run_dir(tmp_path, "b", "scratch", 1), fake_record("scratch", 1, 0.0, status="failed"))
    runs, notes = select_comparable(load(tmp_path))
    assert list(runs["seed"]) == [0] and "1 failed" in notes[0]


def test_environment_info_is_json_ready():
    info = environment_info()
    for key in (
        "python",
        "torch",
        "sedbench",
        "platform",
        "device",
        "cpu_count",
        "git_commit",
        "git_dirty",
        "hostname",
    ):
        assert key in info
    json.dumps(info)


def test_a_newer_group_of_failed_runs_does_not_hide_the_complete_ones(tmp_path):
    """A failed run under new settings: the table still shows the newest group that has complete runs,
    and names the failed group, instead of saying that nothing completed."""
    write_record(run_dir(tmp_path, "b", "scratch", 0), fake_record("scratch", 0, 0.3, benchmark="b"))
    write_record(run_dir(tmp_path, "b", "nanloss", 0, settings="new"),
                 fake_record("nanloss", 0, 0.0, benchmark="b", benchmark_hash="new", status="failed",
                             finished="2027-01-01T00:00:00+00:00"))
    runs, notes = select_comparable(load(tmp_path))
    assert list(runs["method"]) == ["scratch"]
    assert "new (1 runs, none complete)" in notes[0] and "--hash" in notes[0]
    with pytest.raises(SedbenchError, match="no run of benchmark b completed"):
        select_comparable(load(tmp_path), benchmark_hash="new")


def test_a_group_built_by_several_commands_keeps_every_commands_timings(tmp_path):

    from sedbench.results import TIMINGS_DIR, find_timings, group_timings, write_timings

    group = tmp_path / "quick" / "abc123"
    (group / TIMINGS_DIR).mkdir(parents=True)
    # an older version's file (no counts, no methods): trained, judged by its stages
    legacy = group / TIMINGS_DIR / "20261130T053600.000000Z-main.json"
    legacy.write_text(json.dumps({"jobs": 2, "device": "cpu", "threads": 1, "stages": [
        {"stage": "data", "seconds": 0.0}, {"stage": "teacher cnn", "seconds": 3000.0},
        {"stage": "teachers and runs (wall)", "seconds": 6000.0},
        {"stage": "vanilla seed 0 train", "seconds": 1500.0}]}))
    added = write_timings(tmp_path, "quick", "abc123", {
        "jobs": 2, "device": "cpu", "threads": 1, "methods": ["takd"], "seeds": [0, 1], "teachers_trained": 0,
        "pairs_trained": 2, "stages": [{"stage": "data", "seconds": 0.0},
                                       {"stage": "teachers and runs (wall)", "seconds": 2400.0}]})
    write_timings(tmp_path, "quick", "abc123", {"jobs": 1, "device": "cpu", "threads": 1, "methods": ["takd"],
                                                "seeds": [0], "teachers_trained": 0, "pairs_trained": 0, "stages": []})
    assert group_timings(tmp_path, "quick", "abc123") == [legacy, added]
    assert find_timings(tmp_path, "quick", "abc123") == added
    # a stopped --jobs 2 command of format 1 counted none of what its workers finished: it may have trained
    stopped = {"jobs": 2, "device": "cpu", "threads": 1, "methods": ["takd"], "seeds": [2], "teachers_trained": 0,
               "pairs_trained": 0, "stopped": "interrupted", "stages": []}
    old_stop = write_timings(tmp_path, "quick", "abc123", stopped)
    write_timings(tmp_path, "quick", "abc123", {**stopped, "format": 2})  # format 2 counts them: nothing
    write_timings(tmp_path, "quick", "abc123", {**stopped, "jobs": 1})  # in-process counts were whole
    assert group_timings(tmp_path, "quick", "abc123") == [legacy, added, old_stop]
    from sedbench.results import timings_written

    assert timings_written(legacy).isoformat() == "2026-11-30T05:36:00+00:00"  # the command's end, from the name
    assert timings_written(added) > timings_written(legacy) and timings_written(group / "timings.json") is None

    module = readme_results()
    sentence = module.commands_sentence([json.loads(p.read_text()) for p in (legacy, added)], "quick",
                                        "sedbench run --profile quick --methods vanilla", None)
    assert sentence == (
        "`sedbench run --profile quick --methods vanilla`: 100.0 minutes wall, teachers included; the data and "
        "features were already on disk; `sedbench run --profile quick --methods takd --seeds 0,1 --jobs 2 "
        "--threads 1`: 40.0 minutes wall, teachers were cached; the data and features were already on disk.")
    # commands that differ only in their one seed are said once; overlapping commands are said to overlap
    from datetime import datetime, timedelta, timezone

    one = {"jobs": 1, "threads": 1, "methods": ["environment-aware"], "stages": [
        {"stage": "runs (wall)", "seconds": 1500.0}]}
    per_seed = [{**one, "seeds": [s]} for s in (0, 1, 2)]
    t0 = datetime(2026, 11, 30, tzinfo=timezone.utc)
    sentence = module.commands_sentence(per_seed, "quick", "", None, [t0 + timedelta(minutes=m) for m in (25, 50, 75)])
    assert sentence == ("`sedbench run --profile quick --methods environment-aware --seeds S, --jobs 1 --threads 1` "
                        "for S = 0, 1, 2 (3 commands): 25.0, 25.0 and 25.0 minutes wall, teachers were cached; "
                        "the data and features were already on disk.")
    ends = [t0 + timedelta(minutes=m) for m in (25, 30, 75)]  # the second started before the first ended
    overlapping = module.commands_sentence(per_seed, "quick", "", None, ends)
    assert overlapping.endswith("do not add up, and each one's training was slower than it would be alone.")
    # one matrix command stopped and resumed is said once, with each wall time and how many were stopped
    matrix = {"jobs": 2, "threads": 1, "methods": ["scratch", "vanilla"], "seeds": [0, 1, 2], "stages": [
        {"stage": "teachers and runs (wall)", "seconds": 3000.0}, {"stage": "scratch seed 0 train", "seconds": 900.0}]}
    resumed = [{**matrix, "stopped": "terminated (SIGTERM)"}, {**matrix, "stopped": "terminated (SIGTERM)"}, matrix]
    assert module.commands_sentence(resumed, "quick", "", None) == (
        "`sedbench run --profile quick --methods scratch,vanilla --seeds 0,1,2 --jobs 2 --threads 1` (3 times, 2 of "
        "them stopped before the end and resumed by the next): 50.0, 50.0 and 50.0 minutes wall, teachers trained "
        "or cached (a stopped command's table does not say); the data and features were already on disk.")
    # from format 2 on, a stopped command's table lists the teachers its workers trained: no teacher row = cached
    resumed = [{**m, "format": 2} for m in resumed]
    assert module.commands_sentence(resumed, "quick", "", None).endswith(
        "50.0, 50.0 and 50.0 minutes wall, teachers were cached; the data and features were already on disk.")
    with_features = [{**resumed[0], "stages": [*matrix["stages"], {"stage": "features", "seconds": 8.0}]}, matrix]
    assert module.commands_sentence(with_features, "quick", "", None).endswith(
        "minutes wall, feature extraction and teachers were cached.")
    # runs that no stage table covers (their command was stopped by an older version) are named, borrowers not
    runs = pd.DataFrame({"method": ["scratch", "scratch", "environment-mask"], "seed": [0, 1, 0],
                         "lender_config_hash": [None, None, "abc"]})
    assert module.uncovered_runs_sentence(runs, resumed).startswith(" 1 run (scratch seed 1) was trained by ")
    assert module.uncovered_runs_sentence(runs.iloc[[0, 2]], resumed) == ""
    more = pd.DataFrame({"method": ["scratch", "scratch", "vanilla"], "seed": [2, 1, 0], "lender_config_hash": None})
    assert module.uncovered_runs_sentence(more, resumed).startswith(" 3 runs (scratch seeds 1, 2; vanilla seed 0) ")


def test_the_readme_verdicts_read_each_method_against_its_control():
    """The README's first table: method vs its control (the reference row when the control is the
    reference), each seed's difference, and a reading that never calls a CI per comparison a finding."""
    from sedbench.stats import Comparison, compare

    module = readme_results()
    scores = {"scratch": [0.20, 0.30, 0.25], "vanilla": [0.30, 0.41, 0.34],
              "scratch-ema": [0.22, 0.28, 0.30], "takd": [0.20, 0.35, 0.26]}
    controls = {"vanilla": "scratch", "takd": "scratch-ema"}
    runs = pd.DataFrame([{"method": m, "seed": s, "psds1": v, "control": controls.get(m)}
                         for m, vs in scores.items() for s, v in enumerate(vs)])
    family = compare(runs, [Comparison("psds1", "vanilla", "scratch"), Comparison("psds1", "takd", "scratch"),
                            Comparison("psds1", "takd", "scratch-ema", kind="control")], ci="t")
    rows = module.verdict_rows(family, runs)
    assert [r.split(" | ")[0] for r in rows[2:]] == ["| takd vs scratch-ema", "| vanilla vs scratch"]
    takd, vanilla = rows[2], rows[3]
    assert "-0.020, +0.070, -0.040" in takd and "no evidence at 3 seeds; above on 1 and below on 2 of 3 seeds" in takd
    assert "+0.100, +0.110, +0.090" in vanilla and "above on every seed" in vanilla
    assert "finding" not in takd
    # a pair with no comparison keeps its row; a p_adj near the threshold is not rounded onto it;
    # a finding whose CI (which also resamples clips) includes 0 says so
    found = family.assign(p_adj=[0.0496, 1.0, 1.0], ci_low=[-0.01, -0.2, -0.2])
    finding = module.verdict_rows(found, runs)[3]
    assert "| 0.0496 |" in finding and "finding: above its control after Holm (its CI" in finding
    lonely = module.verdict_rows(family, runs.assign(control=runs["control"].replace("scratch", "dual")))
    assert any(r.startswith("| vanilla vs dual | – |") and "no complete run" in r for r in lonely)
    assert module.seed_signs([0.0, 0.0]) == "equal on every seed"
    assert module.seed_signs([0.1, 0.0, -0.1]) == "above on 1 and below on 1 of 3 seeds"
    assert module.seed_signs([-0.1, -0.2]) == "below on every seed"


def test_the_readme_says_whether_an_ordering_travels_to_other_data():
    """Other data: each method's mean on its own eval and there, over the runs scored on both, paired
    by run folder (an evaluation of an earlier variant of vanilla is another network and stays out),
    the change, and the rank on each; a run without a value leaves both means."""
    module = readme_results()
    own = pd.DataFrame({"method": ["scratch"] * 3 + ["vanilla"] * 3, "seed": [0, 1, 2] * 2,
                        "psds1": [0.20, 0.30, 0.90, 0.40, 0.50, 0.10]})
    own["run_dir"] = [f"new/{m}/seed-{s}" for m, s in zip(own["method"], own["seed"], strict=True)]
    there = pd.DataFrame({"method": ["scratch", "scratch", "vanilla", "vanilla", "vanilla", "scratch"],
                          "seed": [0, 1, 0, 1, 2, 2], "psds1": [0.35, 0.45, 0.30, 0.40, 0.99, float("nan")],
                          "source_run_dir": ["new/scratch/seed-0", "new/scratch/seed-1", "new/vanilla/seed-0",
                                             "new/vanilla/seed-1", "old/vanilla/seed-2", "new/scratch/seed-2"]})
    there["run_dir"] = there["source_run_dir"] + "/evaluations/x"
    header, _, first, second = module.other_data_rows(own, there)
    assert header.startswith("| method | seeds | PSDS1 own eval | there |")
    assert first == "| scratch | 2 | 0.250 | 0.400 | +0.150 | 2 -> 1 |"
    assert second == "| vanilla | 2 | 0.450 | 0.350 | -0.100 | 1 -> 2 |"
    tied = module.other_data_rows(own.assign(psds1=0.3000001), there.assign(psds1=[0.3] * 6))
    assert all(row.endswith("| 1 -> 1 |") for row in tied[2:])  # equal at the printed precision


def test_the_readme_says_what_its_tables_cover_from_the_records():
    """Methods, controls and seeds, the teachers read (a score only where one teacher serves every
    seed) and the control of each method: written from the records, not typed."""
    module = readme_results()
    rows = [("scratch", s, None, False) for s in range(5)] + [("vanilla", s, "scratch", False) for s in range(3)]
    rows += [("scratch-ema", s, None, True) for s in range(3)] + [("takd", s, "scratch-ema", False) for s in range(3)]
    runs = pd.DataFrame(rows, columns=["method", "seed", "control", "is_control"]).assign(teacher_seeds="shared")
    teachers = pd.DataFrame({"teacher": ["cnn"], "psds1": [0.481], "used_by": ["takd, vanilla"]})
    text = module.coverage_sentence(runs, teachers)
    assert text.startswith("3 methods and 1 control, 3 seeds each (scratch 5), in one settings group.")
    assert "trained once and shared by every seed (validation PSDS1): cnn (0.481; read by takd, vanilla)." in text
    assert text.endswith("`scratch-ema` for takd; `scratch` for vanilla.")
    per_run = module.coverage_sentence(runs.assign(teacher_seeds="per_run"), teachers)
    assert "0.481" not in per_run and "one trained per run seed" in per_run


def test_a_borrowed_run_whose_lender_was_run_again_is_left_out(tmp_path):
    """environment-mask deploys vanilla's network (Method.trains_as): after `--methods vanilla --force`
    its record still holds the old network, so the tables must not compare the new vanilla with it."""
    lender = fake_record("vanilla", 0, 0.4, finished="2026-01-01T00:10:00+00:00")
    write_record(run_dir(tmp_path, "synthetic", "vanilla", 0), lender)
    borrower = {**fake_record("environment-mask", 0, 0.45),
                "trained_by": {"method": "vanilla", "seed": 0, "config_hash": lender["config_hash"],
                               "finished": lender["finished"]}}
    write_record(run_dir(tmp_path, "synthetic", "environment-mask", 0), borrower)
    runs, notes = select_comparable(load(tmp_path))
    assert sorted(runs["method"]) == ["environment-mask", "vanilla"] and notes == []

    write_record(run_dir(tmp_path, "synthetic", "vanilla", 0), {**lender, "finished": "2026-01-02T00:10:00+00:00"})
    runs, notes = select_comparable(load(tmp_path))
    assert list(runs["method"]) == ["vanilla"]
    assert any("environment-mask seed(s) 0: deploys an earlier run" in n and "--seeds 0," in n for n in notes)
    assert any("1 stale" in n for n in notes)


def test_a_rebuild_hint_repeats_the_profile_and_thread_count():
    import pandas as pd

    from sedbench.results import rerun_command

    runs = pd.DataFrame({"benchmark": ["tiny", "tiny"], "threads": [1, 1]})
    # without them the hint ran quick (the default) or another thread count: a new variant beside these
    assert rerun_command(runs, "--methods vanilla", "--seeds 0,") == (
        "sedbench run --profile tiny --threads 1 --methods vanilla --seeds 0,")
    assert rerun_command(runs.assign(threads=[1, 2]), "--seeds 3") == "sedbench run --profile tiny --seeds 3"
    # a results folder of its own and a plugin's method: without them the hint trained elsewhere, or failed
    elsewhere = runs.assign(run_dir=["/tmp/r/tiny/abc/hint/v1/seed-0", "/tmp/r/tiny/abc/scratch/v1/seed-0"],
                            method_source=["file (/tmp/p/hint.py)", "built-in"])
    assert rerun_command(elsewhere, "--seeds 3") == (
        "sedbench run --profile tiny --threads 1 --results /tmp/r --plugin /tmp/p/hint.py --seeds 3")


def test_a_rerun_with_another_thread_count_does_not_swap_a_methods_row():
    import pandas as pd

    from sedbench.results import _newest_variant_per_method

    rows = [("scratch", "s1", 1, "01"), ("vanilla", "v1", 1, "02"), ("eefd", "e1", 1, "03"),
            ("vanilla", "v2", 2, "09")]  # a later vanilla, trained with 2 threads (a rebuild typed without --threads)
    df = pd.DataFrame([{"method": m, "variant_hash": v, "threads": t, "seed": 0,
                        "recorded": f"2026-01-01T00:{minute}:00+00:00"} for m, v, t, minute in rows])
    notes: list[str] = []
    kept = _newest_variant_per_method(df, notes)
    assert set(kept.loc[kept["method"] == "vanilla", "variant_hash"]) == {"v1"}
    assert any("the group's 1 thread(s)" in n for n in notes)
    notes = []
    alone = _newest_variant_per_method(df[df["variant_hash"] != "v1"], notes)  # only the 2-thread one exists
    assert set(alone.loc[alone["method"] == "vanilla", "variant_hash"]) == {"v2"}
    assert any("different thread counts" in n for n in notes)


def test_runs_trained_on_different_cpus_are_said_without_splitting_their_variant():
    """A mixed cluster trains seeds on AVX2 and AVX-512 nodes: other bits, one variant, one note."""
    import pandas as pd

    from sedbench.results import _newest_variant_per_method, flatten_record

    def record(method: str, seed: int, processor: str, kernels: str | None, device: str = "cpu") -> dict:
        return {"method": method, "seed": seed, "variant_hash": method[0], "threads": 1, "status": "complete",
                "finished": f"2026-01-01T00:0{seed}:00+00:00", "execution": {"device": device, "threads": 1},
                "environment": {"processor": processor, "cpu_kernels": kernels}}

    same = [record(m, s, "AMD EPYC", "AVX2") for m in ("scratch", "vanilla") for s in (0, 1)]
    notes: list[str] = []
    kept = _newest_variant_per_method(pd.DataFrame([flatten_record(r) for r in same]), notes)
    assert len(kept) == 4 and notes == []
    mixed = [*same[:3], record("vanilla", 1, "Intel Xeon", "AVX512")]
    kept = _newest_variant_per_method(pd.DataFrame([flatten_record(r) for r in mixed]), notes)
    assert len(kept) == 4  # no seed left out
    assert len(notes) == 1 and "different CPUs (AMD EPYC (AVX2): scratch, vanilla; Intel Xeon (AVX512): vanilla)" \
        in notes[0], notes
    notes = []
    on_gpus = [record(m, s, f"host{s}", "AVX2", device="cuda") for m in ("scratch", "vanilla") for s in (0, 1)]
    _newest_variant_per_method(pd.DataFrame([flatten_record(r) for r in on_gpus]), notes)
    assert notes == []  # a GPU run's bits do not depend on the host's vector kernels


def test_a_variant_still_training_or_failed_does_not_hide_a_methods_results():
    """`sedbench run --set methods.vanilla.tau=5` in progress (or killed, its record left `running`) hid
    vanilla's complete runs from every table and report."""
    import pandas as pd

    from sedbench.results import _newest_variant_per_method

    rows = [("scratch", "s1", "complete", "01"), ("vanilla", "v1", "complete", "02"),
            ("vanilla", "v2", "running", "09"), ("vanilla", "v3", "failed", "05")]
    df = pd.DataFrame([{"method": m, "variant_hash": v, "threads": 1, "seed": 0, "status": s,
                        "recorded": f"2026-01-01T00:{minute}:00+00:00"} for m, v, s, minute in rows])
    notes: list[str] = []
    kept = _newest_variant_per_method(df, notes)
    assert set(kept.loc[kept["method"] == "vanilla", "variant_hash"]) == {"v1"}
    assert any("the newest with a complete run (v1)" in n for n in notes)
    # once the new variant has a complete run, it is the one shown
    df.loc[df["variant_hash"] == "v2", "status"] = "complete"
    kept = _newest_variant_per_method(df, [])
    assert set(kept.loc[kept["method"] == "vanilla", "variant_hash"]) == {"v2"}


def test_a_record_whose_schema_version_is_not_a_number_is_damaged_not_a_crash(tmp_path):
    import json

    from sedbench.results import DamagedRecord, read_record

    (tmp_path / "run.json").write_text(json.dumps({"schema_version": "1", "status": "complete"}))
    with pytest.raises(DamagedRecord, match="schema_version '1' is not a whole number"):
        read_record(tmp_path)


def test_kept_validation_reads_one_groups_students_once_per_seed(tmp_path):
    # `teachers list` and benchmarks/teacher_draws.py measure a teacher's margin over these students
    from sedbench.results import kept_validation, run_dir, write_record

    def scratch(seed: int, score: float, group: str = "group1", variant: str = "b-usual", threads: int = 2,
                **fields) -> None:
        record = {**fake_record("scratch", seed, score, benchmark="quick", benchmark_hash=group),
                  "variant_hash": variant, "threads": threads, **fields}
        write_record(run_dir(tmp_path, "quick", "scratch", seed, group, variant), record)

    scratch(0, 0.30)
    scratch(1, 0.20)
    scratch(3, 0.25, validation={})  # a record without the score: left out, not a NaN student
    scratch(2, 0.50, status="failed")
    scratch(4, 0.70, group="group2")
    # seed 0 again at another thread count, newer and first in path order: another variant, not a student
    scratch(0, 0.90, variant="a-other", threads=1, finished="2026-06-01T00:00:00+00:00")
    kept, notes = kept_validation(tmp_path, "quick", "group1")
    assert kept.to_dict() == {0: 0.30, 1: 0.20}
    assert len(notes) == 1 and "scratch has runs of 2 variants" in notes[0]
    assert kept_validation(tmp_path, "quick", "nosuch")[0].empty
