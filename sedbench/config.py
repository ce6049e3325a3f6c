"""Benchmark profiles: YAML loading, dotted overrides, the typed schema every profile is validated
against when it is loaded, and the config hash that keys every cache.

The schema (``Profile`` and its sections below) is the one description of what a profile may hold.
``load_profile`` checks every key, type and range once, then returns the config as a plain dict
(nothing is filled in, so hashes of existing configs do not change). Adding a key is one line in its
section, e.g. ``precision: str = key(choices=("fp32", "bf16"))`` in ``Training``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

import yaml

from sedbench.errors import ConfigError
from sedbench.io import FOLDER_NAME_RULE, is_folder_name

# the largest seed: 32 bits, what any RNG takes (torch.manual_seed overflows past 64 bits; a seed is a
# replicate's label, not a quantity)
MAX_SEED = 2**32 - 1

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
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
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
    """Load a benchmark profile by name (configs/benchmarks/NAME.yaml) or path, apply overrides, and
    validate the result against the schema (one-line ConfigError on the first problem).

    A profile may name a ``base`` profile whose values it extends (nested mappings merge).
    """
    config, path = _load_unvalidated(name_or_path)
    config = apply_overrides(config, overrides)
    return validate_config(config, origin=f"profile {path}", overrides=overrides)


def _load_unvalidated(name_or_path: str, named_by: str = "--profile",
                      chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """The profile's values merged over its ``base:`` chain; ``named_by`` is what named it (the option,
    or the file whose ``base:`` did), so an unknown name blames what the user wrote."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / "benchmarks" / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ConfigError(
                f"{named_by} {name_or_path}: unknown profile; choose one of {', '.join(profile_names())} "
                "or give a path to a YAML file"
            )
    if path.resolve() in chain:
        loop = " -> ".join(str(p) for p in (*chain, path.resolve()))
        raise ConfigError(f"{chain[-1]}: `base:` goes round in a circle ({loop}); name a profile without one")
    config = load_yaml(path)
    if not config:
        raise ConfigError(f"{path}: empty profile; give its keys, or `base: quick` and the keys it changes")
    base = config.pop("base", None)
    # a profile is named after its own file unless it says otherwise, never after its base: a
    # `base: quick` variant would otherwise file its results under quick's name
    config.setdefault("name", path.stem)
    if base:
        if not isinstance(base, str):
            raise ConfigError(f"{path}: `base:` must name a profile (e.g. quick), not {base!r}")
        config = _over_base(_load_unvalidated(base, f"{path}: base:", (*chain, path.resolve()))[0], config)
    return config, path


def _over_base(base: dict[str, Any], derived: dict[str, Any]) -> dict[str, Any]:
    """A derived profile's keys merged over its base's, except that a teacher it defines anew (its entry
    names a ``model:``) replaces the base's definition whole: one architecture's options (quick's glu
    stem, its own 8,000 steps) must not leak into another (tiny's small transformer). An entry without
    ``model:`` tweaks the base's teacher (``teachers: {transformer: {dim: 256}}``)."""
    config = merge(base, derived)
    teachers = derived.get("teachers")
    for name, spec in (teachers.items() if isinstance(teachers, dict) else ()):  # else: validation says so
        if isinstance(spec, dict) and "model" in spec:
            config["teachers"][name] = copy.deepcopy(spec)
    return config


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins, nested mappings merge rather than replace."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# a teacher's own keys (teachers.NAME), and the student's (its budget); every other key is an option of
# the model
TEACHER_KEYS = ("model", "freq_mixstyle", "training")
STUDENT_KEYS = ("model", "max_params", "max_macs")


def student_model(config: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The student's model and the options it is built with (its section less the budget); a record
    of an old run may lack the model (None)."""
    student = dict(config.get("student") or {})
    return student.get("model"), {k: v for k, v in student.items() if k not in STUDENT_KEYS}


def teacher_model(config: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """Teacher NAME's model and the options it is built with (its spec less the teacher's own keys)."""
    spec = dict((config.get("teachers") or {})[name])
    return spec.get("model", name), {k: v for k, v in spec.items() if k not in TEACHER_KEYS}


def teacher_recipe(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Teacher NAME's recipe keys over ``training``: the zoo's ``teacher_training`` (less ``seed`` and
    ``freq_mixstyle``, which the zoo reads itself), then the teacher's own ``training:``, which wins
    (a transformer may need a longer schedule than a CNN of the same zoo)."""
    zoo = {k: v for k, v in (config.get("teacher_training") or {}).items() if k not in ("seed", "freq_mixstyle")}
    return merge(zoo, ((config.get("teachers") or {}).get(name) or {}).get("training") or {})


def teacher_freq_mixstyle(config: dict[str, Any], name: str) -> float:
    """Teacher NAME's Freq-MixStyle probability: its own ``freq_mixstyle``, else the zoo's, else 0."""
    spec = (config.get("teachers") or {}).get(name) or {}
    return float(spec.get("freq_mixstyle", (config.get("teacher_training") or {}).get("freq_mixstyle", 0.0)))


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


# ------------------------------------------------------------------------------------ the schema
# A section is a dataclass whose fields are its keys: the annotation is the type, ``key(...)`` the
# range or choices. Fields are never filled in (every key is optional unless ``required``): the
# schema checks what a profile says, the code keeps its own defaults. Ranges apply to a number or to
# every number of a list. ``choices`` may be a callable (a registry read when the check runs).

PROBABILITY = {"ge": 0.0, "le": 1.0}


def key(*, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
        choices: tuple | Callable[[], Any] | None = None, required: bool = False, doc: str = "") -> Any:
    """One key of a section: its constraints (the type is the field's annotation)."""
    return field(default=None, metadata={"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices,
                                         "required": required, "doc": doc})


def probability(**kwargs: Any) -> Any:
    return key(**PROBABILITY, **kwargs)


def _model_names() -> list[str]:
    from sedbench.models import model_names

    return model_names()


def _synth_presets() -> list[str]:
    from sedbench.data.synth import PRESETS

    return list(PRESETS)


class Section:
    """Base of schema sections. ``model_options``: other keys are options of the section's ``model``
    (checked against the model factory's signature). ``check``: cross-key rules."""

    model_options: ClassVar[bool] = False

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        """Rules between keys; raise ConfigError(f"{where}...")."""


@dataclass
class BatchSize(Section):
    strong: int = key(ge=0)
    weak: int = key(ge=0)
    unlabeled: int = key(ge=0)


@dataclass
class Training(Section):
    """The training recipe every method shares (sedbench.training.engine.TrainConfig reads it)."""

    steps: int | None = key(ge=1, doc="null when training.epochs counts the schedule")
    batch_size: BatchSize = key()
    lr: float = key(gt=0)
    warmup_steps: int | None = key(ge=0)
    ema_decay: float = probability()
    consistency_weight: float = key(ge=0)
    consistency_rampup_steps: int | None = key(ge=0)
    mixup_prob: float = probability()
    mixup_alpha: float = key(gt=0)
    clip_grad: float | None = key(ge=0, doc="0 or null: no clipping")
    val_every: int | None = key(ge=1)
    eval_batch_size: int = key(ge=1)
    # the recipe switches of sedbench.training.recipe.RecipeOptions
    precision: Literal["fp32", "bf16"] = key(doc="bf16: autocast on CUDA (the BiGRU stays fp32)")
    selection: Literal["psds1", "dcase"] = key()
    weak_val_share: float = key(ge=0, lt=1)
    epochs: float | None = key(ge=0)
    steps_per_epoch: int | None = key(ge=1)
    warmup_epochs: float | None = key(ge=0)
    consistency_rampup_epochs: float | None = key(ge=0)
    val_every_epochs: float | None = key(ge=0)


@dataclass
class TeacherTraining(Training):
    """The teacher zoo's recipe: ``training`` with these keys replaced, plus two of its own."""

    seed: int = key(ge=0, le=MAX_SEED)
    freq_mixstyle: float = probability(doc="probability of Freq-MixStyle per batch")


@dataclass
class Data(Section):
    source: Literal["synth", "desed"] = key()
    preset: str = key(choices=_synth_presets)
    seed: int = key(ge=0, le=MAX_SEED)
    root: str | None = key()
    config: str | None = key()

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        if values.get("source") == "desed" and not values.get("config"):
            raise ConfigError(f"{where}.config: data.source desed needs a data-config YAML "
                              "(e.g. configs/data/desed.yaml)")


@dataclass
class Features(Section):
    sample_rate: int = key(ge=1)
    n_fft: int = key(ge=1)
    win_length: int = key(ge=1)
    hop_length: int = key(ge=1)
    f_min: float = key(ge=0)
    f_max: float = key(gt=0)
    n_mels: int = key(ge=1)
    clip_duration: float = key(gt=0)

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        if values.get("win_length", 0) > values.get("n_fft", float("inf")):
            raise ConfigError(f"{where}.win_length: {values['win_length']} is more than n_fft {values['n_fft']}")
        if values.get("f_max", 0) > values.get("sample_rate", float("inf")) / 2:
            raise ConfigError(f"{where}.f_max: {values['f_max']} is above half the sample rate "
                              f"({values['sample_rate']} Hz)")
        if values.get("f_min", 0) >= values.get("f_max", float("inf")):
            raise ConfigError(f"{where}.f_min: must be below f_max")


@dataclass
class Student(Section):
    """The one student of every method; other keys are options of ``model``."""

    model_options: ClassVar[bool] = True
    model: str = key(choices=_model_names, required=True)
    max_params: int | None = key(ge=1)
    max_macs: int | None = key(ge=1)
    dropout: float = probability()


@dataclass
class Teacher(Section):
    """A teacher of the zoo; other keys are options of ``model`` (default: the teacher's name)."""

    model_options: ClassVar[bool] = True
    model: str = key(choices=_model_names)
    dropout: float = probability()
    freq_mixstyle: float = probability()
    training: Training = key(doc="this teacher's recipe keys over teacher_training (steps: a longer schedule)")

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        name = where.rsplit(".", 1)[-1]
        if "model" not in values and name not in _model_names():
            raise ConfigError(f"{where}.model: missing; teacher {name} is not a model name, so it needs "
                              f"`model:` (one of {', '.join(_model_names())})")


@dataclass
class Postprocess(Section):
    """How frame probabilities become scores before PSDS."""

    median_filter_s: float = key(ge=0, doc="median filter length in seconds (DESED_task: 7 x 64 ms)")


@dataclass
class Complexity(Section):
    runs: int = key(ge=1)
    warmup: int = key(ge=0)


@dataclass
class Profile(Section):
    """A benchmark profile (configs/benchmarks/*.yaml)."""

    name: str = key(required=True)
    description: str = key()
    data: Data = key()
    features: Features = key(required=True)
    student: Student = key(required=True)
    teachers: dict[str, Teacher] = key()
    training: Training = key(required=True)
    teacher_training: TeacherTraining = key()
    complexity: Complexity = key()
    postprocess: Postprocess = key()
    seeds: list[int] = key(ge=0, le=MAX_SEED)
    reference: str = key()
    environments: dict[str, list[str]] | None = key(doc="environment -> its classes")
    # per-method hyperparameters: checked against each method's Params by validate_methods()
    methods: dict[str, dict[str, Any] | None] | None = key()
    # one teacher per comparison (sedbench.methods.profile_teacher_values)
    teacher: str = key(doc="the default teacher of every single-teacher method")
    teacher_set: list[str] = key(doc="the default teacher set of ensemble methods")
    teacher_seeds: Literal["shared", "per_run"] = key()

    @classmethod
    def check(cls, values: dict[str, Any], where: str) -> None:
        # the profile's and teachers' names become folders of the results and the cache
        for what, name in [("name", values.get("name")), *(("teachers", t) for t in values.get("teachers") or {})]:
            if not is_folder_name(name):
                raise ConfigError(f"{_join(where, what)}: {name!r} is not {FOLDER_NAME_RULE}")
            if what == "teachers" and "+" in name:  # an ensemble's teachers are joined with +
                raise ConfigError(f"{_join(where, what)}: {name!r} has a +, which joins an ensemble's teachers; "
                                  "rename it")
        if values.get("seeds") == []:
            raise ConfigError(f"{_join(where, 'seeds')}: empty; list at least one seed, e.g. [0, 1, 2]")


def validate_config(config: dict[str, Any], origin: str = "profile",
                    overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Check ``config`` against ``Profile``; return it (a plain dict) with numbers normalised.

    The first problem raises a one-line ConfigError naming the key, what was expected and where the
    value came from (the profile file or a ``--set`` override).
    """
    config = copy.deepcopy(config)
    try:
        return _check_section(Profile, config, "")
    except ConfigError as exc:
        raise ConfigError(f"{exc}{_blame(str(exc), origin, overrides, config)}") from None


def _blame(message: str, origin: str, overrides: list[str] | tuple[str, ...], config: dict | None = None) -> str:
    where = message.split(":", 1)[0].split("[", 1)[0]
    for item in reversed(list(overrides)):
        name = item.split("=", 1)[0].strip()
        if where == name or where.startswith(name + ".") or name.startswith(where + "."):
            return f" (from --set {item})"
    # `--set student.model=crnn` on a profile that sets se-crnn's own options (quick's stem_stride) keeps
    # those options: say how to replace the whole section rather than only that the key is unknown
    section = where.rsplit(".", 1)[0] if "." in where and "unknown key" in message else ""
    for item in reversed(list(overrides)):
        name, _, value = item.partition("=")
        if section and name.strip() == f"{section}.model":
            keep = {"model": value.strip()}
            current = _get(config or {}, section)
            current = current if isinstance(current, dict) else {}
            keep.update({k: current[k] for k in STUDENT_KEYS[1:] if k in current})  # keep the budget
            replacement = "{" + ", ".join(f"{k}: {v}" for k, v in keep.items()) + "}"
            return (f" (in {origin}, an option of its own {section} model; `--set {section}.model=` keeps the other "
                    f"{section} keys: replace the section instead: --set '{section}={replacement}')")
    return f" (in {origin})"


def _get(config: dict, dotted: str) -> object:
    for part in dotted.split("."):
        config = config.get(part) if isinstance(config, dict) else None
    return config


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "text"
    if tp is Any:
        return "a value"
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if origin in (list, tuple):
        return f"a list of {_plural(typing.get_args(tp)[0])}"
    if origin is dict or (isinstance(tp, type) and issubclass(tp, Section)):
        return "a mapping"
    if _is_union(tp):
        return " or ".join(_describe(a) if a is not type(None) else "null" for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _plural(tp: Any) -> str:
    return {int: "integers", float: "numbers", str: "names", bool: "true/false values"}.get(tp, "values")


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(value: Any, tp: Any, where: str, meta: dict[str, Any] | None = None) -> Any:
    """``value`` checked against the type ``tp`` and the constraints ``meta``; returns it normalised
    (a float given as text, such as YAML's ``1e-3``, becomes a number). Raises ConfigError."""
    meta = meta or {}
    value = _check_type(value, tp, where)
    _check_constraints(value, where, meta)
    return value


def _check_type(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    wrong = ConfigError(f"{where}: expected {_describe(tp)}, got {_shown(value)}")
    if tp is Any:
        return value
    if _is_union(tp):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise wrong
        for arg in (a for a in args if a is not type(None)):
            try:
                return _check_type(value, arg, where)
            except ConfigError as exc:
                if len([a for a in args if a is not type(None)]) == 1:
                    raise exc from None
        raise wrong
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {_shown(value)} is not one of {', '.join(map(str, typing.get_args(tp)))}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if tp is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise wrong from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        return value
    if tp is str:
        if not isinstance(value, str):
            raise wrong
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise wrong
        item = typing.get_args(tp)[0]
        return [_check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise wrong
        key_tp, value_tp = typing.get_args(tp)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where}: keys must be names, got {_shown(k)}")
            out[k] = _check_type(v, value_tp, f"{where}.{k}")
        return out
    if isinstance(tp, type) and issubclass(tp, Section):
        if not isinstance(value, dict):
            raise wrong
        return _check_section(tp, value, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):  # a method's Params
        if not isinstance(value, dict):
            raise wrong
        return check_dataclass(tp, value, where)
    raise TypeError(f"schema: unsupported type {tp!r} at {where}")


def _check_constraints(value: Any, where: str, meta: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_constraints(v, f"{where}[{i}]", meta)
        return
    choices = meta.get("choices")
    if choices is not None:
        allowed = list(choices() if callable(choices) else choices)
        if value not in allowed:
            raise ConfigError(f"{where}: {_shown(value)} is not one of {', '.join(map(str, allowed))}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        for name, ok, text in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                               ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
            bound = meta.get(name)
            if bound is not None and not ok(value, bound):
                raise ConfigError(f"{where}: {_shown(value)} is out of range; it must be {text} {bound:g}")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_section(cls: type[Section], values: dict[str, Any], where: str) -> dict[str, Any]:
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    label = where or "the profile"
    extra = [k for k in values if k not in fields]
    if extra and not cls.model_options:
        raise ConfigError(f"{_join(where, extra[0])}: unknown key; valid keys of {label}: "
                          f"{', '.join(sorted(fields))}")
    for name, f in fields.items():
        if name not in values:
            if f.metadata.get("required"):
                raise ConfigError(f"{_join(where, name)}: missing; {label} needs it")
            continue
        values[name] = check_value(values[name], hints[name], _join(where, name), dict(f.metadata))
    if extra:
        _check_model_options(values, extra, where, sorted(fields))
    cls.check(values, where or "profile")
    return values


def _check_model_options(values: dict[str, Any], extra: list[str], where: str, own: list[str]) -> None:
    """Keys of a student/teacher section that are not the section's own: options of its model."""
    import inspect

    from sedbench.models.base import _REGISTRY

    model = values.get("model") or where.rsplit(".", 1)[-1]
    factory = _REGISTRY.get(model)
    if factory is None:
        raise ConfigError(f"{_join(where, 'model')}: {model!r} is not a model; choose one of "
                          f"{', '.join(_model_names())}")
    params = {n: p for n, p in inspect.signature(factory).parameters.items() if n not in ("n_mels", "n_classes")}
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # an annotation that does not resolve: check names only
        hints = {}
    for name in extra:
        if name not in params:
            valid = sorted(set(own) | set(params))
            raise ConfigError(f"{_join(where, name)}: unknown key; valid keys of {where} (model {model}): "
                              f"{', '.join(valid)}")
        if name in hints:
            values[name] = check_value(values[name], _plain(hints[name]), _join(where, name))


def _plain(tp: Any) -> Any:
    """A factory annotation the checker understands (tuple[int, ...] -> list[int])."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        return list[typing.get_args(tp)[0]]
    if _is_union(tp):
        args = [_plain(a) for a in typing.get_args(tp)]
        return Union[tuple(args)]  # noqa: UP007 - built from a runtime list
    return tp


def check_dataclass(cls: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    """Keys and types of ``values`` against a plain dataclass (a method's Params); returns them
    normalised (``5e-1`` given as text, or ``4`` for a float, become the floats 0.5 and 4.0)."""
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    out = dict(values)
    for name, value in values.items():
        if name not in names:
            raise ConfigError(f"{_join(where, name)}: unknown key; valid keys{f' of {where}' if where else ''}: "
                              f"{', '.join(sorted(names)) or 'none'}")
        f = next(f for f in dataclasses.fields(cls) if f.name == name)
        tp = _plain(hints.get(name, Any))
        value = check_value(value, tp, _join(where, name), dict(f.metadata))
        if isinstance(value, int) and not isinstance(value, bool) and tp in (float, float | None):
            value = float(value)  # `tau=4` is the default 4.0: one value, one variant hash
        out[name] = value
    return out


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def schema_keys(cls: type[Section] = Profile, prefix: str = "") -> list[str]:
    """Every dotted key of the schema (for docs and tests)."""
    out = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        out.append(prefix + f.name)
        if isinstance(tp, type) and issubclass(tp, Section):
            out += schema_keys(tp, prefix + f.name + ".")
    return out
