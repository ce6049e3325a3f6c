"""Each training records its energy (codecarbon), labelled measured or estimate."""

from __future__ import annotations

import pytest

from sedbench.energy import track_energy, with_stopped_share


def test_energy_of_a_block_is_positive_and_says_how_it_was_obtained():
    with track_energy() as reading:
        sum(i * i for i in range(200_000))
    assert reading["energy_kwh"] is not None and reading["energy_kwh"] > 0
    assert reading["energy_source"].split(" ", 1)[0] in {"measured", "estimate"}
    assert "codecarbon" in reading["energy_source"]


def test_disabled_tracking_records_nothing():
    with track_energy(enabled=False) as reading:
        pass
    assert reading == {"energy_kwh": None, "energy_source": "not measured"}


def test_a_resumed_training_counts_the_stopped_process_at_the_last_ones_power():
    measured = {"energy_kwh": 0.002, "energy_source": "measured (codecarbon 3: intel_rapl)"}
    whole = with_stopped_share(measured, total_s=300.0, earlier_s=200.0)  # the last process ran 100 s
    assert whole["energy_kwh"] == pytest.approx(0.006)
    source = whole["energy_source"]
    assert source.startswith("estimate (codecarbon") and "200 s of a stopped process" in source
    assert with_stopped_share(measured, 300.0, 0.0) == measured  # trained in one go: as measured
    assert with_stopped_share({"energy_kwh": None, "energy_source": "not measured"}, 300.0, 200.0)["energy_kwh"] is None
