"""Energy of a training, as DCASE Task 4 asks for it (kWh), measured with codecarbon.

codecarbon reads the CPU's power counters (Intel RAPL) and NVIDIA's NVML where the machine exposes
them; elsewhere (most VMs, AMD without RAPL access) it estimates CPU power as the CPU's TDP times
the process's load. RAM power is always modelled from its size. The record says which:
``energy_source`` is ``measured`` only when the CPU (and GPU) readings came from counters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# the modes codecarbon names for readings that come from a hardware counter, not a model of one
_COUNTER_MODES = {"intel_rapl", "intel_power_gadget", "apple_powermetrics", "nvml"}


@contextmanager
def track_energy(enabled: bool = True) -> Iterator[dict[str, Any]]:
    """Measure the energy of the block; the yielded dict is filled on exit with ``energy_kwh``
    (None when codecarbon is missing or failed) and ``energy_source`` (how it was obtained)."""
    reading: dict[str, Any] = {"energy_kwh": None, "energy_source": "not measured"}
    tracker = _start_tracker() if enabled else None
    try:
        yield reading
    finally:
        if tracker is not None:
            reading.update(_stop_tracker(tracker))


def with_stopped_share(reading: dict[str, Any], total_s: float, earlier_s: float) -> dict[str, Any]:
    """The energy of a training that was stopped and resumed: the tracker saw only the last process,
    so the stopped one's ``earlier_s`` seconds are added at the last one's mean power (the same
    training loop on the same settings). The source then says it is partly extrapolated."""
    kwh = reading.get("energy_kwh")
    if earlier_s <= 0 or kwh is None or total_s <= earlier_s:
        return reading
    source = str(reading.get("energy_source", "")).replace("measured", "estimate", 1)
    return {**reading, "energy_kwh": kwh * total_s / (total_s - earlier_s),
            "energy_source": f"{source}; {earlier_s:.0f} s of a stopped process added at this one's mean power"}


def _start_tracker():
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        return None
    # codecarbon logs its set-up at INFO before its own log_level applies; a run says nothing of it
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    try:
        # offline: no network; the country only sets a carbon intensity, which sedbench does not report
        tracker = OfflineEmissionsTracker(
            country_iso_code="USA", output_methods=[], log_level="error", tracking_mode="process",
            measure_power_secs=15, allow_multiple_runs=True,
        )
        tracker.start()
        return tracker
    except Exception:  # energy is a side measurement: it never fails a run
        return None


def _stop_tracker(tracker) -> dict[str, Any]:
    import codecarbon

    try:
        tracker.stop()
        data = tracker.final_emissions_data
        modes = sorted({str(getattr(h, "_mode", "")) for h in getattr(tracker, "_hardware", [])} - {"", "None"})
    except Exception as exc:
        return {"energy_kwh": None, "energy_source": f"codecarbon failed: {type(exc).__name__}"}
    counted = bool(modes) and set(modes) <= _COUNTER_MODES
    kind = "measured" if counted else "estimate"
    return {"energy_kwh": float(data.energy_consumed), "energy_source":
            f"{kind} (codecarbon {codecarbon.__version__}: {', '.join(modes) or 'default model'})"}
