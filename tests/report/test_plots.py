import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sedbench.cli import cli
from sedbench.errors import SedbenchError
from sedbench.evaluation.synthetic import write_synthetic_results
from sedbench.report import plots
from sedbench.report.costs import teachers_table, training_costs
from sedbench.report.tables import comparison_family
from sedbench.results import load

TEACHERS = {"cnn": {"model": "cnn", "params": 4_000_000, "train_s": 600.0, "psds1": 0.3, "psds2": 0.5},
            "transformer": {"model": "transformer", "params": 2_000_000, "train_s": 900.0, "psds1": 0.2,
                            "psds2": 0.4}}
USES = {"scratch": [], "dual": ["cnn"], "tiny": [], "multi": ["cnn", "transformer"]}


def test_pareto_front_by_hand():
    cost = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    value = np.array([0.2, 0.1, 0.5, 0.4, 0.6])
    assert plots.pareto_front(cost, value).tolist() == [0, 2, 4]
    assert plots.pareto_front(cost, value, higher_is_better=False).tolist() == [0, 1]


def test_single_valued_dodge_and_mean_ci():
    assert plots.single_valued([3.1e8, 3.1e8, 3.1e8 * 1.005])
    assert not plots.single_valued([3.1e8, 3.5e8])
    x = plots.dodge(np.array([1.0, 10.0, 10.0, 10.0]))
    assert x[0] == 1.0 and len(set(x[1:].round(6))) == 3 and abs(x[1:].mean() - 10.0) < 1e-9
    assert np.ptp(x[1:]) < 0.05 * 9  # nudged apart, never enough to change a reading
    mean, lo, hi = plots.mean_ci([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and lo < 0.2 < hi
    assert plots.mean_ci([0.4]) == (0.4, 0.4, 0.4)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    dirs = write_synthetic_results(
        root,
        methods={"scratch": (1.2, 300_000, 3e8), "dual": (0.9, 310_000, 3.1e8), "tiny": (1.5, 50_000, 5e7),
                 "multi": (1.0, 300_000, 3e8)},
        seeds=(1, 2),
        n_clips=15,
        n_classes=3,
    )
    for d in dirs:  # the teachers each run read, as runner.run_one records them
        record = json.loads((d / "run.json").read_text())
        record["teacher_info"] = {t: TEACHERS[t] for t in USES[record["method"]]}
        (d / "run.json").write_text(json.dumps(record))
    return root


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_cost_counts_each_teacher_a_method_reads(results):
    costs = training_costs(load(results)).groupby("method")[["train_s", "teacher_s", "train_total_s"]].mean()
    assert costs.loc["scratch", "teacher_s"] == 0
    assert costs.loc["multi", "teacher_s"] == 1500.0
    assert costs.loc["dual", "train_total_s"] == pytest.approx(costs.loc["dual", "train_s"] + 600.0)
    table = teachers_table(load(results)).set_index("teacher")
    assert table.loc["cnn", "used_by"] == "dual, multi" and table.loc["transformer", "train_s"] == 900.0


def test_training_cost_of_older_records_comes_from_the_method_config_and_timings():
    runs = pd.DataFrame([{"method": "vanilla", "run_dir": None, "train_s": 10.0, "teachers": "cnn+transformer"}])
    assert training_costs(runs, {"cnn": 5.0, "transformer": 7.0})["train_total_s"].iloc[0] == 22.0
    assert np.isnan(training_costs(runs, {"cnn": 5.0})["train_total_s"].iloc[0])  # unknown, never partial


def test_plots_write_pngs(results, tmp_path):
    df = load(results)
    assert _is_png(plots.pareto(df, tmp_path / "p.png", "psds1", "latency"))
    assert _is_png(plots.pareto(df, tmp_path / "t.png", "psds1", "train"))
    assert _is_png(plots.ranked(df, tmp_path / "r.png", "psds1"))
    controls = df.assign(is_control=df["method"].map({"tiny": True}))  # None where the column is unset
    assert _is_png(plots.ranked(controls, tmp_path / "rc.png", "weak_map"))
    assert _is_png(plots.per_class(df, tmp_path / "c.png", "psds2", ["dual", "scratch"]))
    assert _is_png(plots.per_class(df, tmp_path / "h.png", "psds1", max_bars=2))  # the heatmap layout
    runs = plots.runs_for_seed(df, ["dual", "tiny"])
    assert list(runs) == ["dual (seed 1)", "tiny (seed 1)"]
    assert _is_png(plots.psd_roc(runs, tmp_path / "roc.png"))
    assert _is_png(plots.forest(comparison_family(df, "psds1", "scratch"), tmp_path / "f.png"))


def test_a_cost_every_method_shares_gives_a_ranked_plot(results, tmp_path, monkeypatch):
    df = load(results)
    df = df[df["method"] != "tiny"].assign(params=300_000)
    called = {}
    real = plots.ranked

    def spy(*args, **kwargs):
        called.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(plots, "ranked", spy)
    assert _is_png(plots.pareto(df, tmp_path / "same.png", "psds1", "params"))
    assert "same parameters of the deployed model (300k)" in called["subtitle"]


def test_forest_needs_a_comparison(results, tmp_path):
    family = comparison_family(load(results), "psds1", "nobody")
    with pytest.raises(SedbenchError, match="nothing to plot"):
        plots.forest(family, tmp_path / "f.png")


def test_plot_cli(results, tmp_path):
    runner = CliRunner()
    for args in (
        ["pareto", "--x", "params"],
        ["pareto"],
        ["ranked", "--metric", "psds2"],
        ["psdroc", "--methods", "scratch,dual", "--seed", "2"],
        ["per-class"],
    ):
        out = tmp_path / f"{args[0]}.png"
        res = runner.invoke(cli, ["plot", *args, "--results", str(results), "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert _is_png(out)
    res = runner.invoke(cli, ["plot", "psdroc", "--results", str(results), "--methods", "nope"])
    assert res.exit_code != 0 and "nope" in res.output
    res = runner.invoke(cli, ["plot", "pareto", "--results", str(results), "--x", "nope", "--out", str(out)])
    assert res.exit_code == 2 and "--x nope: no such column" in res.output, res.output  # not "--metric nope"
    for bad, said in ((tmp_path, "is a folder"), (tmp_path / "plot.xyz", "ending in one of"),
                      (tmp_path / "pareto.png" / "x.png", "is a file, not a folder")):
        res = runner.invoke(cli, ["plot", "ranked", "--results", str(results), "--out", str(bad)])
        assert res.exit_code == 2 and said in res.output, res.output  # checked before any work


def test_forest_plot_and_its_cli(results, tmp_path):
    from sedbench.report.tables import comparison_family

    long = comparison_family(load(results), "psds1,psds2", n_resamples=200)
    assert len(long) == 6 and set(long["ci_method"]) == {"hierarchical bootstrap"}
    assert _is_png(plots.forest(long, tmp_path / "f.png"))
    pairs = comparison_family(load(results), "psds1", pairwise=True, ci="t")
    assert len(pairs) == 6 and _is_png(plots.forest(pairs, tmp_path / "pw.png"))
    out = CliRunner().invoke(
        cli, ["plot", "forest", "--results", str(results), "--resamples", "100", "--out", str(tmp_path / "cli.png")]
    )
    assert out.exit_code == 0, out.output
    assert _is_png(tmp_path / "cli.png")


def test_default_plot_paths_are_the_groups_own(tmp_path):
    write_synthetic_results(tmp_path, methods={"scratch": (1.2, 1, 1), "vanilla": (0.9, 1, 1)}, seeds=(1, 2),
                            n_clips=12, n_classes=3)
    res = CliRunner().invoke(cli, ["plot", "ranked", "--results", str(tmp_path)])
    assert res.exit_code == 0, res.output
    written = list(tmp_path.glob("*/*/plots/ranked-psds1.png"))  # results/<benchmark>/<hash>/plots/
    assert len(written) == 1 and not (tmp_path / "plots").exists()
