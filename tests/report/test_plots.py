import numpy as np
import pytest
from click.testing import CliRunner

from sedbench.cli import cli
from sedbench.evaluation.synthetic import write_synthetic_results
from sedbench.report import plots
from sedbench.results import load


def test_pareto_front_by_hand():
    cost = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    value = np.array([0.2, 0.1, 0.5, 0.4, 0.6])
    assert plots.pareto_front(cost, value).tolist() == [0, 2, 4]
    assert plots.pareto_front(cost, value, higher_is_better=False).tolist() == [0, 1]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_synthetic_results(
        root,
        methods={"scratch": (1.2, 300_000, 3e8), "dual": (0.9, 310_000, 3.1e8), "tiny": (1.5, 50_000, 5e7)},
        seeds=(1, 2),
        n_clips=15,
        n_classes=3,
    )
    return root


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_write_pngs(results, tmp_path):
    df = load(results)
    assert _is_png(plots.pareto(df, tmp_path / "p.png", "psds1", "latency"))
    assert _is_png(plots.per_class(df, tmp_path / "c.png", "psds2", ["dual", "scratch"]))
    runs = plots.runs_for_seed(df, ["dual", "tiny"])
    assert list(runs) == ["dual (seed 1)", "tiny (seed 1)"]
    assert _is_png(plots.psd_roc(runs, tmp_path / "r.png"))


def test_plot_cli(results, tmp_path):
    runner = CliRunner()
    for args in (
        ["pareto", "--x", "params"],
        ["psdroc", "--methods", "scratch,dual", "--seed", "2"],
        ["per-class"],
    ):
        out = tmp_path / f"{args[0]}.png"
        res = runner.invoke(cli, ["plot", *args, "--results", str(results), "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert _is_png(out)
    res = runner.invoke(cli, ["plot", "psdroc", "--results", str(results), "--methods", "nope"])
    assert res.exit_code != 0 and "nope" in res.output


def test_forest_plot_and_its_cli(results, tmp_path):
    from sedbench.report.tables import comparison_family

    long = comparison_family(load(results), "psds1,psds2", n_resamples=200)
    assert len(long) == 4 and set(long["ci_method"]) == {"hierarchical bootstrap"}
    assert _is_png(plots.forest(long, tmp_path / "f.png"))
    pairs = comparison_family(load(results), "psds1", pairwise=True, ci="t")
    assert len(pairs) == 3 and _is_png(plots.forest(pairs, tmp_path / "pw.png"))
    out = CliRunner().invoke(
        cli, ["plot", "forest", "--results", str(results), "--resamples", "100", "--out", str(tmp_path / "cli.png")]
    )
    assert out.exit_code == 0, out.output
    assert _is_png(tmp_path / "cli.png")
