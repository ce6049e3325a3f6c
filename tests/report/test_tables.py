import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from sedbench.cli import cli
from sedbench.errors import SedbenchError
from sedbench.evaluation.synthetic import fake_record, write_synthetic_results
from sedbench.report.tables import comparison_table, render
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
                fake_record(
                    method, seed, v, benchmark="quick", params=100_000 if method == "same" else 300_000
                ),
            )
    return tmp_path


def test_comparison_table_numbers(results):
    t = comparison_table(load(results), "psds1", "scratch").set_index("method")
    assert t.loc["vanilla", "mean"] == pytest.approx(0.3667, abs=1e-4)
    assert t.loc["vanilla", "delta"] == pytest.approx(0.0567, abs=1e-4)
    assert t.loc["vanilla", "p_holm"] < 0.05 and t.loc["vanilla", "sig"] in ("*", "**", "***")
    assert t.loc["same", "p"] == 1.0 and t.loc["same", "sig"] == "n.s."
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
        fake_record(
            "scratch", 9, 0.9, benchmark="quick", benchmark_hash="older", finished="2025-01-01T00:00:00+00:00"
        ),
    )
    t = comparison_table(load(results), benchmark="quick")
    assert t.attrs["benchmark_hash"] == "synth0000000" and "older" in t.attrs["notes"][0]


def test_bootstrap_column_from_stored_scores(tmp_path):
    write_synthetic_results(
        tmp_path, methods={"scratch": (1.3, 1, 1), "dual": (0.7, 1, 1)}, seeds=(1,), n_clips=20, n_classes=3
    )
    t = comparison_table(load(tmp_path), "psds1", bootstrap=True, n_resamples=100).set_index("method")
    assert t.loc["dual", "n_pairs"] == 1 and pd.isna(t.loc["dual", "p"])  # one seed: no seed-level test
    assert t.loc["dual", "boot_delta"] == pytest.approx(t.loc["dual", "delta"])
    assert t.loc["dual", "boot_ci_low"] < t.loc["dual", "boot_ci_high"]
    assert 0 < t.loc["dual", "boot_p"] <= 1
