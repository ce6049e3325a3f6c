"""Every method trains, evaluates and records on the tiny profile; the docs' plugin example too."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sedbench.runner import run_one

REPO = Path(__file__).resolve().parents[2]
ALL = ["scratch", "vanilla", "multi-teacher", "temporal-attention", "environment-aware", "takd", "eefd", "dual"]


@pytest.fixture(scope="module")
def records(tiny_bench, tiny_teachers):
    return {name: run_one(tiny_bench, name, seed=0) for name in ALL}


@pytest.mark.parametrize("name", ALL)
def test_method_runs_end_to_end(records, name):
    record = records[name]
    assert record["status"] == "complete", record.get("error")
    assert record["metrics"]["psds1"] >= 0.0
    assert record["complexity"]["params"] == records["scratch"]["complexity"]["params"]


@pytest.mark.parametrize("name", ["temporal-attention", "eefd", "dual"])
def test_training_only_heads_are_reported_apart(records, name):
    cx = records[name]["complexity"]
    assert cx["params_training_only"] > 0
    assert cx["params"] == records["scratch"]["complexity"]["params"]


def test_environment_aware_deploys_one_student_per_environment(records, tiny_bench):
    cx = records["environment-aware"]["complexity"]
    assert cx["n_deployed_models"] == len(tiny_bench.environments)
    assert cx["params_all_models"] == cx["params"] * len(tiny_bench.environments)


def test_docs_example_plugin_runs_and_reaches_the_table(tiny_bench, tiny_teachers):
    from sedbench.cli import cli

    plugin = REPO / "docs" / "examples" / "fitnets.py"
    doc = (REPO / "docs" / "adding-a-method.md").read_text()
    assert plugin.read_text() in doc  # the walk-through shows exactly the file that is tested
    runner = CliRunner()
    listed = runner.invoke(cli, ["methods", "--plugin", str(plugin)])
    assert listed.exit_code == 0, listed.output
    assert "fitnets" in listed.output and "file" in listed.output
    record = run_one(tiny_bench, "fitnets", seed=0, plugins=(str(plugin),))
    assert record["status"] == "complete", record.get("error")
    assert record["complexity"]["params_training_only"] > 0
    table = runner.invoke(cli, ["table", "--metric", "psds1", "--results", str(tiny_bench.results_root),
                                "--benchmark", "tiny", "--format", "csv"])
    assert table.exit_code == 0, table.output
    assert "fitnets" in table.output
