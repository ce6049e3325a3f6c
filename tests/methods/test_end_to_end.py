"""Every method trains, evaluates and records on the tiny profile; the docs' plugin example too."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sedbench.runner import run_one

REPO = Path(__file__).resolve().parents[2]
ALL = ["scratch", "vanilla", "multi-teacher", "temporal-attention", "environment-aware", "takd", "eefd", "dual",
       "scratch-ema", "vanilla-ensemble", "environment-mask"]


@pytest.fixture(scope="module")
def records(tiny_bench, tiny_teachers):
    return {name: run_one(tiny_bench, name, seed=0) for name in ALL}


@pytest.mark.parametrize("name", ALL)
def test_method_runs_end_to_end(records, name):
    record = records[name]
    assert record["status"] == "complete", record.get("error")
    assert record["metrics"]["psds1"] >= 0.0
    per_model = records["scratch"]["complexity"]["params"]
    assert record["complexity"]["params_per_model"] == per_model
    assert record["complexity"]["params"] == per_model * record["complexity"]["n_models"]


# the tiny profile inherits quick's teacher (cnn) and teacher set (cnn, transformer)
TEACHERS = {"scratch": "", "scratch-ema": "", "vanilla": "cnn", "takd": "cnn", "environment-aware": "cnn",
            "environment-mask": "cnn", "dual": "cnn,transformer", "multi-teacher": "cnn,transformer",
            "vanilla-ensemble": "cnn,transformer", "eefd": "transformer", "temporal-attention": "transformer"}


@pytest.mark.parametrize("name", ALL)
def test_records_name_the_control_and_the_teachers(records, name):
    from sedbench.methods import get_method

    record, cls = records[name], get_method(name)
    assert record["control"] == cls.control and record["is_control"] == cls.is_control
    assert record["teachers"] == TEACHERS[name]
    if TEACHERS[name]:  # each teacher read says which CPU trained it (a shared cache may serve another's)
        from sedbench.stack import cpu_label

        assert {t: info["trained_on"] for t, info in record["teacher_info"].items()} == (
            dict.fromkeys(TEACHERS[name].split(","), cpu_label()))
    # one teacher per comparison: the profile's default, except where the formula needs a transformer
    expected = None if not TEACHERS[name] else name not in ("eefd", "temporal-attention")
    assert record["profile_teacher"] is expected


def test_results_table_has_the_comparison_columns(records, tiny_bench):
    from sedbench.results import load

    df = load(tiny_bench.results_root, benchmark=tiny_bench.name).set_index("method")
    assert df.loc["takd", "control"] == "scratch-ema" and bool(df.loc["scratch-ema", "is_control"])
    assert df.loc["vanilla", "teachers"] == tiny_bench.config["teacher"]
    assert df.loc["multi-teacher", "teachers"] == df.loc["vanilla-ensemble", "teachers"]
    assert df.loc["environment-aware", "n_models"] == len(tiny_bench.environments)


def test_environment_mask_deploys_vanillas_network_behind_the_oracle_mask(records, tiny_bench):
    import torch

    def saved(name):  # the run folder its record names (results are keyed by settings and variant)
        return torch.load(Path(records[name]["run_dir"]) / "model.pt", weights_only=False)

    mask, vanilla = saved("environment-mask"), saved("vanilla")
    assert len(mask["partitions"]) == 1 and records["environment-mask"]["complexity"]["n_models"] == 1
    for key, value in vanilla["partitions"][0]["state_dict"].items():  # same seed: the same training
        assert torch.equal(value, mask["partitions"][0]["state_dict"][key]), key
    assert {(r["environment"], tuple(r["classes"])) for r in mask["routes"]} == {
        (env, tuple(classes)) for env, classes in tiny_bench.environments.items()}
    # not trained twice: vanilla's run lends its network, and its cost, to the control
    lent = records["environment-mask"]["trained_by"]
    assert lent == {"method": "vanilla", "seed": 0, "config_hash": records["vanilla"]["config_hash"],
                    "finished": records["vanilla"]["finished"], "run_dir": records["vanilla"]["run_dir"],
                    "trained_here": False}  # vanilla ran before it in this matrix
    assert records["environment-mask"]["timings"]["train_s"] == records["vanilla"]["timings"]["train_s"]
    assert records["environment-mask"]["validation"]["best_steps"] == records["vanilla"]["validation"]["best_steps"]
    env_aware = saved("environment-aware")
    assert {(r["environment"], tuple(r["classes"])) for r in env_aware["routes"]} == {
        (r["environment"], tuple(r["classes"])) for r in mask["routes"]}


@pytest.mark.parametrize("name", ["temporal-attention", "eefd", "dual"])
def test_training_only_heads_are_reported_apart(records, name):
    cx = records[name]["complexity"]
    assert cx["params_training_only"] > 0
    assert cx["params"] == records["scratch"]["complexity"]["params"]


def test_environment_aware_counts_every_deployed_student(records, tiny_bench):
    cx, one = records["environment-aware"]["complexity"], records["scratch"]["complexity"]
    k = len(tiny_bench.environments)
    assert cx["n_models"] == k and cx["params"] == k * one["params"] and cx["params_per_model"] == one["params"]
    assert cx["macs"] == k * one["macs"] and cx["macs_per_model"] == one["macs"]
    assert cx["latency_ms"] == pytest.approx(k * cx["latency_ms_per_model"])
    assert "deployed_note" in cx and "deployed_note" not in one


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
