import importlib.util
from pathlib import Path

import pytest

from sedbench.errors import SedbenchError

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "calibrate.py"


@pytest.fixture(scope="module")
def calibrate():
    spec = importlib.util.spec_from_file_location("calibrate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_calibrate_script_end_to_end_on_synthetic_seeds(calibrate, capsys):
    results = calibrate.main(
        ["--demo", "--demo-seeds", "6", "--demo-clips", "12", "--n", "3", "--splits", "40", "--resamples", "40"]
    )
    assert [r.test.split()[0] for r in results] == ["paired", "hierarchical", "clip"]
    assert results[0].trials == 40 and results[-1].trials == 15  # 6 seeds: 15 pairs for the clip bootstrap
    out = capsys.readouterr().out
    assert "Clopper-Pearson" in out and "6 seeds" in out


def test_calibrate_needs_twice_n_seeds(calibrate, tmp_path):
    from sedbench.evaluation.synthetic import fake_record
    from sedbench.results import run_dir, write_record

    for seed in range(3):
        write_record(run_dir(tmp_path, "quick", "scratch", seed), fake_record("scratch", seed, 0.3 + seed / 100))
    with pytest.raises(SedbenchError, match="needs >= 6 seeds"):
        calibrate.calibrate(tmp_path, "scratch", "psds1", 3, 10, 0, 0.05)
    assert calibrate.parse_seeds("0-3") == [0, 1, 2, 3] and calibrate.parse_seeds("4,7") == [4, 7]
