"""The HTML report: built from a real tiny run, every table and figure in it, opened by a real browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from sedbench import runner
from sedbench.benchmark import Benchmark
from sedbench.cli import cli
from sedbench.evaluation.synthetic import write_synthetic_results
from sedbench.report.html import REQUIRED_FIGURES, check_report_html, report_context, verdicts, write_report
from sedbench.report.tables import comparison_table
from sedbench.results import load

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def tiny_results(tiny_bench, tiny_teachers, tmp_path_factory):
    """scratch and vanilla, seed 0, on the tiny profile: a real results folder (records, scores, timings)."""
    root = tmp_path_factory.mktemp("report-tiny")
    bench = Benchmark(tiny_bench.config, results_root=root / "results", cache_root=tiny_bench.cache_root,
                      device="cpu", progress=False)
    summaries = runner.run_matrix(bench, ["scratch", "vanilla"], [0])
    assert all(s["status"] == "complete" for s in summaries), summaries
    return bench


def test_a_run_records_its_teachers_and_notes(tiny_results):
    df = load(tiny_results.results_root)
    vanilla = json.loads((Path(df.loc[df["method"] == "vanilla", "run_dir"].iloc[0]) / "run.json").read_text())
    teacher = vanilla["config"]["method"]["params"]["teacher"]
    assert set(vanilla["teacher_info"]) == {teacher} and vanilla["teacher_info"][teacher]["train_s"] > 0
    scratch = json.loads((Path(df.loc[df["method"] == "scratch", "run_dir"].iloc[0]) / "run.json").read_text())
    assert scratch["teacher_info"] == {} and isinstance(scratch["notes"], list)


def test_run_notes_say_each_absent_class_once():
    def split(*labels):
        return SimpleNamespace(ground_truth={"a": [(0.0, 1.0, label) for label in labels], "b": []})

    bench = SimpleNamespace(classes=("Cat", "Dog", "Speech"), evaluation=split("Dog"), validation=split("Dog", "Cat",
                                                                                                       "Speech"),
                            dataset=SimpleNamespace(notes=[]))
    assert runner.run_notes(bench) == ["eval has no events of Cat, Speech: left out of its event metrics "
                                       "(per-class values None)"]


def test_report_of_a_tiny_run_holds_every_table_and_figure(tiny_results, tmp_path):
    out = write_report(tiny_results.results_root, tmp_path / "report.html", benchmark=tiny_results.name)
    text = out.read_text(encoding="utf-8")
    check = check_report_html(text)
    assert check.problems() == [], check
    assert {f"forest-{m}" for m in ("psds1", "psds2", "weak_map")} <= set(check.figures)
    assert "<script" not in text and "http://" not in text and "https://" not in text  # opens offline
    assert "settings hash" in text.lower() and tiny_results.benchmark_hash in text
    teacher = next(iter(json.loads((Path(load(tiny_results.results_root).query("method == 'vanilla'")["run_dir"]
                                         .iloc[0]) / "run.json").read_text())["teacher_info"]))
    assert f">{teacher}</td>" in text  # the teachers table
    assert "vanilla:" in text  # a verdict sentence


def test_report_cli_and_defaults(tiny_results):
    result = CliRunner().invoke(cli, ["report", "--results", str(tiny_results.results_root)])
    assert result.exit_code == 0, result.output
    newest = tiny_results.results_root / "report.html"
    own = tiny_results.results_root / tiny_results.name / tiny_results.benchmark_hash / "report.html"
    # the group's own report (another profile's run never replaces it), and a copy as the newest
    assert own.is_file() and str(own) in result.output.replace("\n", "")
    assert newest.read_text() == own.read_text()
    result = CliRunner().invoke(cli, ["report", "--results", str(tiny_results.results_root / "nothing")])
    assert result.exit_code != 0 and "sedbench run" in result.output


def test_report_of_synthetic_results_with_a_failed_run(tmp_path):
    write_synthetic_results(tmp_path, methods={"scratch": (1.2, 1, 1), "vanilla": (0.9, 1, 1)}, seeds=(1, 2),
                            n_clips=12, n_classes=3)
    record = tmp_path / "synthetic" / "vanilla" / "seed-2" / "run.json"
    data = json.loads(record.read_text())
    data.update(status="failed", error="NaN loss at step 3")
    record.write_text(json.dumps(data))
    text = write_report(tmp_path).read_text()
    assert "NaN loss at step 3" in text and "left out: 1 failed run(s)" in text
    assert "has no completed runs" not in text
    # a reference without runs is said, not silently replaced
    context = report_context(tmp_path, reference="vanilla-ensemble", n_resamples=50)
    assert context["reference"] == "scratch"
    said = [n for n in context["load_notes"] if "'vanilla-ensemble' has no completed runs" in n]
    assert len(said) == 1 and "against scratch" in said[0]
    check = check_report_html(text)
    assert set(REQUIRED_FIGURES) <= set(check.figures) and check.external == []


def test_verdicts_read_the_table():
    import pandas as pd

    table = pd.DataFrame([
        {"method": "scratch", "delta": None, "delta_ci_low": None, "delta_ci_high": None, "p_holm": None},
        {"method": "a", "delta": 0.05, "delta_ci_low": 0.01, "delta_ci_high": 0.09, "p_holm": 0.01},
        {"method": "b", "delta": -0.01, "delta_ci_low": -0.05, "delta_ci_high": 0.03, "p_holm": 0.6},
    ])
    table.attrs.update(metric="psds1", reference="scratch", higher_is_better=True, confidence=0.95)
    said = verdicts(table)
    assert said[0].startswith("a: +0.050 psds1 vs scratch") and "better than scratch" in said[0]
    assert "no difference from scratch shown" in said[1]
    table.attrs["verdicts"] = {"a": "given by the statistics"}
    assert verdicts(table) == ["a: given by the statistics"]


def test_comparison_table_attrs_are_shown(tmp_path):
    write_synthetic_results(tmp_path, methods={"scratch": (1.2, 1, 1), "dual": (0.9, 1, 1)}, seeds=(1, 2),
                            n_clips=12, n_classes=3)
    from sedbench.report.html import _metric_section

    table = comparison_table(load(tmp_path), "psds1")
    table.attrs["data_note"] = "eval set: 12 synthetic clips"  # a string attr the page has no slot for
    section = _metric_section(table)
    assert ("data note", table.attrs["data_note"]) in section.extra


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Chromium (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(tiny_results, tmp_path):
    report = write_report(tiny_results.results_root, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "report_screenshot.py"), "--report", str(report), "--screenshot",
         str(shot), "--chromium", CHROMIUM],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "decoded by Chromium" in result.stdout and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
