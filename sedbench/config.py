"""Benchmark profiles: YAML loading, dotted overrides, and the config hash that keys every cache."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from sedbench.errors import ConfigError

# The repository's configs/ folder (sedbench is installed editable from the clone).
REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a one-line error naming the file when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file; check the path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML; fix the syntax") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def profile_names() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "benchmarks").glob("*.yaml"))


def load_profile(name_or_path: str, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Load a benchmark profile by name (configs/benchmarks/NAME.yaml) or path, then apply overrides.

    A profile may name a ``base`` profile whose values it extends (nested mappings merge).
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / "benchmarks" / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ConfigError(
                f"--profile {name_or_path}: unknown profile; choose one of {', '.join(profile_names())} "
                "or give a path to a YAML file"
            )
    config = load_yaml(path)
    base = config.pop("base", None)
    if base:
        config = merge(load_profile(base), config)
    config.setdefault("name", path.stem)
    return apply_overrides(config, overrides)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins, nested mappings merge rather than replace."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(config: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides; values are parsed as YAML (so 3, 0.5, true, [1,2] work)."""
    config = copy.deepcopy(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. training.steps=200")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item}: value is not valid YAML") from exc
        node = config
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: {part} is not a mapping")
        node[parts[-1]] = value
    return config


def config_hash(obj: Any, length: int = 12) -> str:
    """Stable short hash of a JSON-able object (key order does not matter)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def default_profile() -> str:
    """``full`` on a machine with a GPU, ``quick`` otherwise (SPEC.md 9)."""
    import torch

    return "full" if torch.cuda.is_available() else "quick"
