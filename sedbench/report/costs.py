"""The whole training cost of a method: its student's training time plus the teachers it reads.

A run record names the cached teachers its method used in ``teacher_info`` (name -> model, params,
train_s, validation PSDS); older records have none, and then the teachers come from the method's
parameters in the record's config and their times from the caller (``results.read_timings``).
A teacher shared by several methods is counted in full for each of them: it is what a user who
wanted only that one method would pay.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sedbench.results import RECORD_FILE


def read_run_record(run_dir: str | os.PathLike | None) -> dict[str, Any]:
    """The run.json of a run folder, or {} when it cannot be read (the caller says what is missing)."""
    if run_dir is None or (isinstance(run_dir, float) and pd.isna(run_dir)):
        return {}
    try:
        record = json.loads((Path(run_dir) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def teacher_names(record: Mapping[str, Any], row: Mapping[str, Any] | None = None) -> list[str]:
    """The single teachers a run read (ensembles ``a+b`` split into their parts)."""
    info = record.get("teacher_info")
    if isinstance(info, dict):
        return sorted(info)
    joined = (row.get("teachers") if row is not None else None) or record.get("teachers")
    if isinstance(joined, float):  # a NaN cell of a records table without the column's value
        joined = None
    if isinstance(joined, str):
        names: Iterable[str] = joined.split(",")
    elif isinstance(joined, list):
        names = joined
    else:
        params = ((record.get("config") or {}).get("method") or {}).get("params") or {}
        names = _teacher_params(params)
    return sorted({part.strip() for name in names for part in str(name).split("+") if part.strip()})


def _teacher_params(params: Any) -> list[str]:
    """Values of ``teacher``/``teachers`` keys anywhere in a method's parameters (dual nests two)."""
    found: list[str] = []
    if isinstance(params, dict):
        for key, value in params.items():
            if key == "teacher" and isinstance(value, str):
                found.append(value)
            elif key == "teachers" and isinstance(value, list | tuple):
                found.extend(str(v) for v in value)
            else:
                found.extend(_teacher_params(value))
    return found


def training_costs(runs: pd.DataFrame, teacher_seconds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``runs`` with ``teachers_used`` (names), ``teacher_s`` and ``train_total_s`` (student + teachers).

    ``teacher_s`` is NaN where a teacher's training time is known neither from the run record nor
    from ``teacher_seconds``; ``train_total_s`` is NaN with it (never a student-only figure posing
    as the whole cost).
    """
    seconds = dict(teacher_seconds or {})
    used, teacher_s, teacher_kwh = [], [], []
    for _, row in runs.iterrows():
        record = read_run_record(row.get("run_dir"))
        names = teacher_names(record, row)
        info = record.get("teacher_info") if isinstance(record.get("teacher_info"), dict) else {}
        total, energy = 0.0, 0.0
        for name in names:
            value = (info.get(name) or {}).get("train_s")
            value = seconds.get(name) if value is None else value
            total += float("nan") if value is None else float(value)
            kwh = (info.get(name) or {}).get("energy_kwh")
            energy += float("nan") if kwh is None else float(kwh)
        used.append(",".join(names))
        teacher_s.append(total)
        teacher_kwh.append(energy)
    out = runs.copy()
    out["teachers_used"] = used
    out["teacher_s"] = teacher_s
    out["train_total_s"] = pd.to_numeric(out.get("train_s"), errors="coerce") + out["teacher_s"]
    # energy like time: the student's training plus every teacher it read (NaN where one is unknown)
    out["teacher_kwh"] = teacher_kwh
    student_kwh = pd.to_numeric(out["energy_kwh"], errors="coerce") if "energy_kwh" in out else float("nan")
    out["energy_total_kwh"] = student_kwh + out["teacher_kwh"]
    return out


def teacher_seconds_from_timings(timings: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Teacher name -> seconds from the stage timings ``sedbench run`` writes (``results.read_timings``
    of the commands that built one group): the command that trained a teacher gives its time."""
    out: dict[str, float] = {}
    for data in timings:
        for stage in data.get("stages", []):
            name = str(stage.get("stage", ""))
            if name.startswith("teacher ") and stage.get("seconds"):
                out[name[len("teacher ") :]] = float(stage["seconds"])
    return out


def teachers_table(runs: pd.DataFrame, teacher_seconds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per teacher the runs read: model, params, validation PSDS1/PSDS2, training time, users."""
    rows: dict[str, dict[str, Any]] = {}
    for _, row in runs.iterrows():
        record = read_run_record(row.get("run_dir"))
        info = record.get("teacher_info") if isinstance(record.get("teacher_info"), dict) else {}
        for name in teacher_names(record, row):
            entry = rows.setdefault(name, {"teacher": name, "model": None, "params": None, "psds1": None,
                                           "psds2": None, "train_s": None, "used_by": set()})
            for key in ("model", "params", "psds1", "psds2", "train_s"):
                value = (info.get(name) or {}).get(key)
                if value is not None:
                    entry[key] = value
            if entry["train_s"] is None and teacher_seconds and name in teacher_seconds:
                entry["train_s"] = teacher_seconds[name]
            entry["used_by"].add(str(row["method"]))
    table = pd.DataFrame(
        [{**r, "used_by": ", ".join(sorted(r["used_by"]))} for r in rows.values()],
        columns=["teacher", "model", "params", "psds1", "psds2", "train_s", "used_by"],
    )
    return table.sort_values("teacher", kind="stable").reset_index(drop=True)
