"""Each training records its energy (codecarbon), labelled measured or estimate."""

from __future__ import annotations

from sedbench.energy import track_energy


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
