import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from sedbench.cli import cli
from sedbench.errors import SedbenchError
from sedbench.evaluation.synthetic import fake_record, write_synthetic_results
from sedbench.report.tables import (
    comparison_family,
    comparison_table,
    comparison_tables,
    pairwise_matrix,
    pairwise_table,
    render,
    render_pairwise,
)
from sedbench.results import load, run_dir, write_record

PSDS = {  # method -> psds1 per seed
    "scratch": [0.30, 0.35, 0.28],
    "vanilla": [0.36, 0.40, 0.34],  # +0.06, +0.05, +0.06
    "same": [0.30, 0.35, 0.28],
}


@pytest.fixture()
def results(tmp_path):
    for method, values in PSDS.items():
        for seed, v in enumerate(values):
            write_record(
                run_dir(tmp_path, "quick", method, seed),
                fake_record(method, seed, v, benchmark="quick", params=100_000 if method == "same" else 300_000),
            )
    return tmp_path


def test_comparison_table_numbers(results):
    t = comparison_table(load(results), "psds1", "scratch").set_index("method")
    assert t.loc["vanilla", "mean"] == pytest.approx(0.3667, abs=1e-4)
    assert t.loc["vanilla", "delta"] == pytest.approx(0.0567, abs=1e-4)
    assert t.loc["vanilla", "p_holm"] < 0.05 and t.loc["vanilla", "sig"] == "significant"
    assert t.loc["same", "p"] == 1.0 and t.loc["same", "sig"] == "n.s."
    assert t.loc["vanilla", "verdict"].startswith("vanilla beats scratch by +0.057 psds1")
    assert "no evidence of a difference in psds1 at 3 seeds" in t.loc["same", "verdict"]
    # no score files here: the CI is the paired t interval, and the table says so
    assert t.loc["vanilla", "ci_method"] == "t over seeds"
    assert any("paired t interval over seeds" in n for n in t.attrs["notes"])
    # power: MDE = 3.264 x sd of the paired differences at 3 seeds
    assert t.loc["vanilla", "mde"] == pytest.approx(3.2640 * t.loc["vanilla", "sd_diff"], rel=1e-3)
    assert t.loc["vanilla", "seeds_needed"] == 3  # d = 9.8: power 0.72 at 2 pairs, 1.00 at 3
    assert pd.isna(t.loc["scratch", "delta"]) and t.loc["scratch", "note"] == "reference"
    # Holm across the two compared methods
    assert t.loc["vanilla", "p_holm"] == pytest.approx(min(1, 2 * t.loc["vanilla", "p"]))
    assert list(comparison_table(load(results), "psds1").method)[0] == "vanilla"  # best first


def test_cost_metric_and_sort(results):
    t = comparison_table(load(results), "params", sort="params")
    assert t.iloc[0]["method"] == "same"
    with pytest.raises(SedbenchError, match="--metric nope"):
        comparison_table(load(results), "nope")


def test_csv_and_json_parse_back_to_the_same_numbers(results):
    t = comparison_table(load(results), "psds1")
    back = pd.read_csv(io.StringIO(render(t, "csv")))
    for col in ("mean", "std", "delta", "p", "p_holm", "ci_low", "params"):
        pd.testing.assert_series_equal(back[col].astype(float), t[col].astype(float), check_names=False)
    data = json.loads(render(t, "json"))
    assert data["metric"] == "psds1" and data["reference"] == "scratch"
    for row, (_, ref) in zip(data["rows"], t.iterrows(), strict=False):
        assert row["mean"] == ref["mean"] and (row["p"] is None) == pd.isna(ref["p"])
        if row["p"] is not None:
            assert row["p"] == ref["p"]


def test_markdown_latex_and_rich_render(results):
    t = comparison_table(load(results), "psds1")
    md = render(t, "markdown")
    assert md.startswith("| Method") and "**0.367 ± 0.031 (3)**" in md and "**300M**" not in md
    assert "| p | p_adj (Holm) | MDE (80% power) | seeds for Δ |" in md
    head = md.splitlines()[0].split(" | ")
    vanilla = next(line for line in md.splitlines() if line.startswith("| vanilla")).split(" | ")
    assert vanilla[head.index("p")] == "0.003" and vanilla[head.index("p_adj (Holm)")] == "0.007"  # no stars
    assert "- vanilla beats scratch" in md and "n.s.' means no evidence at 3 seeds" in md
    tex = render(t, "latex")
    assert r"\toprule" in tex and r"$\pm$" in tex and r"\textbf{" in tex
    assert "vanilla" in render(t, "rich")


def test_table_cli(results):
    runner = CliRunner()
    out = runner.invoke(cli, ["table", "--results", str(results), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert {r["method"] for r in json.loads(out.output)["rows"]} == set(PSDS)
    out = runner.invoke(cli, ["table", "--results", str(results), "--metric", "psds2", "--reference", "same"])
    assert out.exit_code == 0 and "Δ vs same" in out.output


def test_table_cli_on_an_empty_folder_says_what_produces_results(tmp_path):
    out = CliRunner().invoke(cli, ["table", "--results", str(tmp_path / "none")])
    assert out.exit_code != 0
    assert "sedbench run" in out.output and len(out.output.strip().splitlines()) == 1


def test_table_refuses_mixed_benchmarks_and_notes_hashes(results):
    write_record(run_dir(results, "full", "scratch", 0), fake_record("scratch", 0, 0.5, benchmark="full"))
    out = CliRunner().invoke(cli, ["table", "--results", str(results)])
    assert out.exit_code != 0 and "--benchmark" in out.output
    write_record(
        run_dir(results, "quick", "scratch", 9),
        fake_record("scratch", 9, 0.9, benchmark="quick", benchmark_hash="older", finished="2025-01-01T00:00:00+00:00"),
    )
    t = comparison_table(load(results), benchmark="quick")
    assert t.attrs["benchmark_hash"] == "synth0000000" and "older" in t.attrs["notes"][0]


def test_one_seed_gets_no_method_level_p_even_with_the_clip_bootstrap(tmp_path):
    """A single-seed clip bootstrap describes two checkpoints: it must never appear as method evidence."""
    write_synthetic_results(
        tmp_path, methods={"scratch": (1.3, 1, 1), "dual": (0.7, 1, 1)}, seeds=(1,), n_clips=20, n_classes=3
    )
    t = comparison_table(load(tmp_path), "psds1", clip_bootstrap=True, n_resamples=200).set_index("method")
    dual = t.loc["dual"]
    assert dual["n_pairs"] == 1
    for col in ("p", "p_holm", "p_wilcoxon", "delta_ci_low", "delta_ci_high", "mde", "seeds_needed"):
        assert pd.isna(dual[col]), col  # nothing stands in for the seed-level test
    assert dual["sig"] == "" and "no method-level test" in dual["verdict"]
    # the clip bootstrap is there, as eval-set uncertainty of these checkpoints
    assert dual["clip_delta"] == pytest.approx(dual["delta"]) and dual["clip_ci_low"] < dual["clip_ci_high"]
    assert dual["clip_p"] < 0.05
    md = render(comparison_table(load(tmp_path), "psds1", clip_bootstrap=True, n_resamples=200), "markdown")
    head = md.splitlines()[0].split(" | ")
    row = next(line for line in md.splitlines() if line.startswith("| dual")).split(" | ")
    assert row[head.index("p")] == "–" and row[head.index("p_adj (Holm)")] == "–"
    assert "eval-set Δ, these checkpoints [95% CI]" in head
    assert "not whether the method trains better students" in md
    assert "fewer than 2 seeds" in md and "does not stand in" in md
    assert "beats" not in md and "worse" not in md


def test_hierarchical_bootstrap_ci_from_stored_scores(tmp_path):
    write_synthetic_results(
        tmp_path, methods={"scratch": (1.3, 1, 1), "dual": (0.7, 1, 1)}, seeds=(1, 2), n_clips=20, n_classes=3
    )
    t = comparison_table(load(tmp_path), "psds1", n_resamples=300).set_index("method")
    assert t.loc["dual", "ci_method"] == "hierarchical bootstrap"
    assert t.loc["dual", "delta_ci_low"] < t.loc["dual", "delta"] < t.loc["dual", "delta_ci_high"]
    assert any("hierarchical bootstrap" in n for n in t.attrs["notes"])
    # a plot and the tables can share one computation: same numbers, same settings in the notes
    family = comparison_family(load(tmp_path), "psds1,psds2", n_resamples=300)
    shared = comparison_tables(load(tmp_path), "psds1,psds2", family=family)[0].set_index("method")
    assert shared.loc["dual", "delta_ci_low"] == pytest.approx(
        comparison_tables(load(tmp_path), "psds1,psds2", n_resamples=300)[0].set_index("method").loc[
            "dual", "delta_ci_low"
        ]
    )
    assert shared.attrs["n_resamples"] == 300 and any("300 resamples" in n for n in shared.attrs["notes"])
    t_only = comparison_table(load(tmp_path), "psds1", ci="t").set_index("method")
    assert t_only.loc["dual", "ci_method"] == "t over seeds"
    assert t_only.loc["dual", "p"] == t.loc["dual", "p"]  # the test is the same either way


def with_controls(results):
    df = load(results)
    df["control"] = df["method"].map({"vanilla": "same"})
    df["is_control"] = df["method"] == "same"
    return df


def test_against_control_and_holm_over_every_comparison_shown(results):
    df = with_controls(results)
    both = comparison_table(df, "psds1", against="reference,control").set_index("method")
    assert both.loc["vanilla", "control"] == "same"
    assert both.loc["vanilla", "ctrl_delta"] == pytest.approx(both.loc["vanilla", "delta"])
    # three comparisons shown (vanilla and same vs scratch, vanilla vs same): one Holm family of 3
    raw = [both.loc["vanilla", "p"], both.loc["same", "p"], both.loc["vanilla", "ctrl_p"]]
    from statsmodels.stats.multitest import multipletests

    adj = multipletests(raw, method="holm")[1]
    assert [both.loc["vanilla", "p_holm"], both.loc["same", "p_holm"], both.loc["vanilla", "ctrl_p_holm"]] == (
        pytest.approx(list(adj))
    )
    assert both.attrs["family_size"] == 3 and "its control same" in both.loc["vanilla", "ctrl_verdict"]
    assert "vanilla (control)" not in render(both.reset_index(), "markdown")
    assert "same (control)" in render(both.reset_index(), "markdown")
    only = comparison_table(df, "psds1", against="control").set_index("method")
    assert only.attrs["family_size"] == 1 and pd.isna(only.loc["vanilla", "delta"])
    assert only.loc["vanilla", "ctrl_p_holm"] == pytest.approx(only.loc["vanilla", "ctrl_p"])
    older = comparison_table(load(results), "psds1", against="control")  # records without the column
    assert any("no `control` column" in n for n in older.attrs["notes"])


def test_a_control_that_is_the_reference_is_one_comparison(results):
    """vanilla's control is scratch, the reference: one test, counted once in Holm, one verdict, and
    shown in both column groups (an impostor that adds it twice doubles the family and p_adj)."""
    df = load(results)
    df["control"] = df["method"].map({"vanilla": "scratch"})
    df["is_control"] = False
    both = comparison_table(df, "psds1", against="reference,control").set_index("method")
    reference_only = comparison_table(df, "psds1").set_index("method")
    assert both.attrs["family_size"] == reference_only.attrs["family_size"]
    assert both.loc["vanilla", "p_holm"] == pytest.approx(reference_only.loc["vanilla", "p_holm"])
    assert both.loc["vanilla", "ctrl_p_holm"] == pytest.approx(both.loc["vanilla", "p_holm"])
    assert both.loc["vanilla", "control"] == "scratch"
    assert any("counted in Holm once" in n for n in both.attrs["notes"])
    assert sum("vanilla" in v for v in both.attrs["verdicts"]) == 1


def test_metrics_rendered_together_are_one_family(results):
    tables = comparison_tables(load(results), "psds1,psds2")
    assert [t.attrs["metric"] for t in tables] == ["psds1", "psds2"]
    assert all(t.attrs["family_size"] == 4 for t in tables)
    single = comparison_table(load(results), "psds1").set_index("method")
    joint = tables[0].set_index("method")
    assert joint.loc["vanilla", "p"] == single.loc["vanilla", "p"]
    assert joint.loc["vanilla", "p_holm"] >= single.loc["vanilla", "p_holm"]
    assert any("over 2 metrics (psds1, psds2)" in n for n in tables[0].attrs["notes"])
    # a control with no runs is said once under each table, not once per metric of the family
    df = load(results)
    df["control"] = df["method"].map({"vanilla": "absent"})
    df["is_control"] = False
    for table in comparison_tables(df, "psds1,psds2", against="reference,control"):
        assert sum("control absent has no completed runs" in n for n in table.attrs["notes"]) == 1


def test_pairwise_matrix(results):
    long = pairwise_table(load(results), "psds1")
    assert len(long) == 3 and long.attrs["family_size"] == 3
    delta = pairwise_matrix(long, "psds1")
    assert list(delta.index) == ["vanilla", "same", "scratch"] or list(delta.index)[0] == "vanilla"
    assert delta.loc["vanilla", "scratch"] == pytest.approx(0.0567, abs=1e-4)
    assert delta.loc["scratch", "vanilla"] == pytest.approx(-delta.loc["vanilla", "scratch"])
    p_adj = pairwise_matrix(long, "psds1", "p_adj")
    assert p_adj.loc["vanilla", "scratch"] == p_adj.loc["scratch", "vanilla"]
    from statsmodels.stats.multitest import multipletests

    assert list(long["p_adj"]) == pytest.approx(list(multipletests(list(long["p"]), method="holm")[1]))
    text = render_pairwise(long, "markdown")
    assert "pairwise Δ (row − column)" in text and "+0.057 (" in text and "·" in text
    assert json.loads(render_pairwise(long, "json"))["rows"][0]["kind"] == "pairwise"


def test_table_cli_pairwise_control_and_metrics(results, tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["table", "--results", str(results), "--pairwise"])
    assert out.exit_code == 0, out.output
    assert "pairwise Δ (row − column)" in out.output
    out = runner.invoke(cli, ["table", "--results", str(results), "--metric", "psds1,psds2", "--format", "csv"])
    assert out.exit_code == 0, out.output
    back = pd.read_csv(io.StringIO(out.stdout))
    assert set(back["metric"]) == {"psds1", "psds2"}
    out = runner.invoke(cli, ["table", "--results", str(results), "--against", "control"])
    assert out.exit_code == 0 and "no `control` column" in out.output
    out = runner.invoke(cli, ["table", "--results", str(results), "--against", "nope"])
    assert out.exit_code != 0 and "--against" in out.output
    out = runner.invoke(cli, ["table", "--results", str(results), "--effect", "0.01"])
    assert out.exit_code == 0 and "seeds for 0.01" in out.output


def test_a_constant_shift_on_two_seeds_is_no_finding(tmp_path):
    # the tiny walkthrough: environment-mask +0.004 on both seeds was "beats scratch, p_adj < 0.001"
    for method, values in {"scratch": [0.0, 0.0], "environment-mask": [0.004, 0.004]}.items():
        for seed, v in enumerate(values):
            write_record(run_dir(tmp_path, "tiny", method, seed), fake_record(method, seed, v, benchmark="tiny"))
    t = comparison_table(load(tmp_path), "psds1", "scratch").set_index("method")
    assert t.loc["environment-mask", "p"] == pytest.approx(0.5)
    assert "no evidence" in t.loc["environment-mask", "verdict"]
    assert any("sign-flip" in n for n in t.attrs["notes"])


def test_an_unknown_metric_names_the_headline_ones_and_a_close_match(results):
    with pytest.raises(SedbenchError) as err:
        comparison_table(load(results), "psds3", "scratch")
    message = str(err.value)
    assert "did you mean psds" in message and "psds1" in message
    assert "is_control" not in message and "per_class_psds1.Cat" not in message  # bookkeeping and detail


def test_a_test_is_counted_once_in_holm_whatever_way_it_is_asked_for(results):
    df = load(results)
    single = comparison_tables(df, "psds1")[0]
    twice = comparison_tables(df, "psds1,psds1")  # or an alias of it: one table, one set of tests
    assert len(twice) == 1 and twice[0].attrs["family_size"] == single.attrs["family_size"] == 2
    # the reference's own control: vanilla (reference) vs scratch is scratch vs vanilla reversed
    df["control"] = df["method"].map({"vanilla": "scratch"})
    t = comparison_table(df, "psds1", "vanilla", against="reference,control")
    assert t.attrs["family_size"] == 2 and any("reversed" in n for n in t.attrs["notes"])


def test_one_run_on_other_clips_leaves_the_other_comparisons_their_hierarchical_ci(tmp_path):
    import shutil

    methods = {"scratch": (1.2, 1, 1), "vanilla": (1.05, 1, 1), "eefd": (1.0, 1, 1)}
    write_synthetic_results(tmp_path / "a", methods=methods, seeds=(1, 2, 3), n_clips=30)
    write_synthetic_results(tmp_path / "b", methods={"eefd": methods["eefd"]}, seeds=(1,), n_clips=30, seed=7)
    odd = tmp_path / "a" / "synthetic" / "eefd" / "seed-1"  # sorts first: it was taken as the clip set
    shutil.rmtree(odd)
    shutil.copytree(tmp_path / "b" / "synthetic" / "eefd" / "seed-1", odd)
    t = comparison_table(load(tmp_path / "a"), "psds1", n_resamples=100).set_index("method")
    assert t.loc["vanilla", "ci_method"] == "hierarchical bootstrap"
    assert t.loc["eefd", "ci_method"] == "t over seeds"
    said = [n for n in t.attrs["notes"] if "other eval clips" in n]
    assert len(said) == 1 and "1 run(s)" in said[0] and "eefd" in said[0]


def test_seeds_a_comparison_leaves_out_are_said_under_the_table(tmp_path):
    """A missing run and a metric without a value (NaN): the rich and markdown tables said neither,
    so takd's mean over 2 seeds sat beside scratch's over 3 with nothing to explain it."""
    values = {"scratch": [0.30, 0.35, 0.28], "takd": [0.33, 0.37], "vanilla": [0.36, float("nan"), 0.35]}
    for method, seeds in values.items():
        for seed, v in enumerate(seeds):
            write_record(run_dir(tmp_path, "quick", method, seed), fake_record(method, seed, v, benchmark="quick"))
    t = comparison_table(load(tmp_path), "psds1", "scratch").set_index("method")
    assert "not paired: seed(s) 2 of the baseline only" in t.loc["takd", "note"]
    assert t.loc["vanilla", "note"] == "no value on seed(s) 1", t.loc["vanilla", "note"]
    for fmt in ("markdown", "rich"):
        text = render(t.reset_index(), fmt)
        assert "takd vs scratch: not paired: seed(s) 2 of the baseline only" in text, text
        assert "vanilla vs scratch: no value on seed(s) 1" in text


def test_a_metric_missing_on_shared_seeds_is_not_called_too_few_seeds(tmp_path):
    for method in ("scratch", "vanilla"):
        for seed in range(3):
            write_record(run_dir(tmp_path, "quick", method, seed),
                         fake_record(method, seed, 0.3, benchmark="quick",
                                     **({"weak_map": 0.4 + seed / 100} if method == "scratch" else {})))
    t = comparison_table(load(tmp_path), "weak_map", "scratch")
    text = " ".join(t.attrs["notes"])
    assert "vanilla vs scratch: no value on seed(s) 0,1,2" in text
    assert "fewer than 2 seeds" not in text and "adds seeds" not in text


def test_a_pair_with_one_common_seed_shows_no_delta_in_the_matrix(tmp_path):
    values = {"scratch": [0.30, 0.35, 0.28], "vanilla": [0.36, 0.40, 0.34], "takd": [None, None, 0.31]}
    for method, seeds in values.items():
        for seed, v in enumerate(seeds):
            if v is not None:
                write_record(run_dir(tmp_path, "quick", method, seed), fake_record(method, seed, v, benchmark="quick"))
    long = pairwise_table(load(tmp_path), "psds1")
    text = render_pairwise(long, "markdown")
    takd_row = next(line for line in text.splitlines() if line.startswith("| takd"))
    assert takd_row.count("–") == 2 and "+" not in takd_row.split("|", 2)[2], takd_row
    assert "'–': fewer than 2 common seeds" in text


def test_the_power_note_names_only_columns_the_table_shows(results):
    df = with_controls(results)
    only = comparison_table(df, "psds1", against="control")
    text = render(only, "markdown")
    assert "MDE (" not in text.split("\n\n")[0]  # no MDE column ...
    assert "(column MDE)" not in text and "'seeds for Δ'" not in text  # ... and no note pointing to one
    both = render(comparison_table(df, "psds1", against="reference,control"), "markdown")
    assert "(column MDE)" in both and "'seeds for Δ'" in both


def test_a_latency_timed_on_a_busy_core_shows_its_cpu_time_and_says_so(tmp_path):
    for method, values in PSDS.items():
        for seed, v in enumerate(values):
            record = fake_record(method, seed, v, benchmark="quick")
            timing = record["complexity"]["latency"]["cpu_1_thread"]["model"]
            # vanilla was timed beside other work: wall 2x its CPU time; the others idle (wall 1.02x)
            timing["cpu_median_ms"] = timing["median_ms"] / (2.0 if method == "vanilla" else 1.02)
            write_record(run_dir(tmp_path, "quick", method, seed), record)
    df = load(tmp_path)
    t = comparison_table(df, "psds1", "scratch").set_index("method")
    assert t.loc["vanilla", "latency_cpu_1t_ms"] == pytest.approx(1.5)  # 3.0 ms wall, 1.5 ms CPU time
    assert t.loc["vanilla", "latency_cpu_1t_wall_ms"] == pytest.approx(3.0)
    assert t.loc["scratch", "latency_cpu_1t_ms"] == pytest.approx(3.0)  # idle: the wall time, as timed
    assert pd.isna(t.loc["scratch", "latency_cpu_1t_wall_ms"])
    # a method deploying 3 students, recorded before their CPU time was summed: judged on one student's
    # timing, shown three of its CPU times
    record = fake_record("three", 0, 0.3, benchmark="quick")
    per_model = {"cpu_1_thread": {"model": {"median_ms": 3.0, "cpu_median_ms": 1.5}}}
    record["complexity"].update(n_models=3, latency_per_model=per_model,
                                latency={"cpu_1_thread": {"model": {"median_ms": 9.0, "cpu_median_ms": 1.5}}})
    write_record(run_dir(tmp_path, "quick", "three", 0), record)
    row = load(tmp_path).set_index("method").loc["three"]
    assert row["latency_cpu_1t_ms"] == pytest.approx(4.5) and row["latency_cpu_1t_wall_ms"] == pytest.approx(9.0)
    note = [n for n in t.attrs["notes"] if n.startswith("CPU latency")]
    assert note == [
        "CPU latency of vanilla: timed while other work shared the core (wall median 3.00 ms, over 1.25x the "
        "process's CPU time), so the column shows the CPU time, which leaves out the waiting "
        "(not the slower caches of a shared core); `sedbench profile RUN_DIR` times a run's student again"
    ]


def test_costs_of_a_borrowed_network_and_of_several_students_are_said_under_the_table(results):
    # environment-mask-like: deploys vanilla's run of each seed; environment-aware-like: three students
    for seed, v in enumerate(PSDS["vanilla"]):
        lent = fake_record("masked", seed, v + 0.01, benchmark="quick")
        lent["trained_by"] = {"method": "vanilla", "config_hash": f"x-{seed}", "trained_here": False}
        write_record(run_dir(results, "quick", "masked", seed), lent)
        many = fake_record("routed", seed, v + 0.02, benchmark="quick", params=900_000)
        many["complexity"]["n_models"] = 3
        write_record(run_dir(results, "quick", "routed", seed), many)
    notes = comparison_table(load(results), "psds1", "scratch").attrs["notes"]
    assert "masked deploys vanilla's trained network of each seed and trains nothing itself: its Train time " \
           "is vanilla's" in notes
    routed = [n for n in notes if n.startswith("routed deploys 3 students")]
    assert len(routed) == 1 and "1/3 of its MACs and latency" in routed[0]
    assert not [n for n in notes if n.startswith(("vanilla deploys", "scratch deploys", "same deploys"))]
