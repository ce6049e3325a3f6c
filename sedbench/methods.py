"""The public plugin API for distillation methods.

A method is one class registered with ``@register_method("name")``. It declares its hyperparameters
(a dataclass; defaults in configs/methods/<name>.yaml), the teachers it needs, the training-only
modules it adds, the extra loss terms of a step, and which network is deployed. It sees model
outputs, the teacher cache and the loss helpers of ``sedbench.training.losses``; never the engine's
internals. Everything else (data, schedule, student architecture, seeds) belongs to the benchmark
and is the same for every method.

Methods are discovered from three places: the top-level ``methods/`` folder of the repository
(built-in), installed packages exposing the entry-point group ``sedbench.methods``, and plugin files
given with ``--plugin path/to/file.py``.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from sedbench.config import CONFIG_DIR, REPO_ROOT, check_dataclass, load_yaml
from sedbench.errors import ConfigError, SedbenchError, one_line
from sedbench.io import FOLDER_NAME_RULE, is_folder_name
from sedbench.models import ModelOutput
from sedbench.teachers import TeacherBatch, TeacherInfo

BUILTIN_DIR = REPO_ROOT / "methods"
ENTRY_POINT_GROUP = "sedbench.methods"

# Hyperparameter names a method may not declare: they belong to the benchmark, not to a method.
FORBIDDEN_PARAMS = frozenset(
    {"steps", "lr", "learning_rate", "batch_size", "seed", "seeds", "student", "model", "data",
     "dataset", "features", "n_mels", "warmup_steps", "ema_decay", "epochs", "schedule"}
)


@dataclass
class NoParams:
    """A method without hyperparameters."""


@dataclass
class Partition:
    """A slice of the training run: one student is trained per partition, same schedule each.

    ``rows`` restricts the training clips (None: all); ``classes`` restricts supervision, KD and
    the deployed outputs to a class subset (None: all); ``environment`` routes evaluation clips of
    that environment to this partition's student. ``share`` is the fraction of the benchmark's
    schedule this student gets (steps, warm-up and ramp-ups scaled alike); the engine refuses
    shares that add up to more than 1, so a method never trains for longer than the others.
    """

    name: str = "all"
    rows: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    environment: str | None = None
    share: float = 1.0


@dataclass
class SetupContext:
    """What a method sees before training one partition's student."""

    student: nn.Module
    example_output: ModelOutput  # the student's outputs on a dummy batch: feature names and sizes
    classes: tuple[str, ...]
    teachers: dict[str, TeacherInfo]
    environments: dict[str, tuple[str, ...]]  # environment -> its class subset
    clip_environments: np.ndarray | None  # environment of each training row (None: unknown)
    partition: Partition = field(default_factory=Partition)


@dataclass
class StepContext:
    """What a method sees at every training step (inputs and targets already mixed)."""

    step: int
    total_steps: int
    batch: dict[str, torch.Tensor]
    features: torch.Tensor
    student_out: ModelOutput
    mean_out: ModelOutput  # the mean student on the same inputs, without gradient
    teachers: dict[str, TeacherBatch]
    student: nn.Module
    mean_student: nn.Module
    modules: nn.ModuleDict  # this method's training-only modules
    ema_factor: float  # the factor this step's mean-student update uses
    class_mask: torch.Tensor | None  # (C,) bool for the partition's classes, None for all


class Method:
    """Base class of every distillation method; the default is the base recipe alone."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    source: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    # "student" or "mean_student": the network that is evaluated and deployed
    deploy: ClassVar[str] = "student"
    # a training step's cost relative to scratch: only a scheduling hint (parallel runs start the
    # longest first so that no process idles at the end of the matrix)
    relative_cost: ClassVar[float] = 1.0
    # a control isolates another method's mechanism: the same recipe without that mechanism (it is a
    # baseline of the benchmark, listed and run with the methods, and marked as a control)
    is_control: ClassVar[bool] = False
    # the registered method that isolates THIS method's mechanism (``sedbench table --against control``)
    control: ClassVar[str | None] = None
    # hyperparameters that take the profile's default teacher (``teacher:``) or default teacher set
    # (``teacher_set:``) unless the profile's ``methods.<name>`` section or the CLI sets them, so that
    # every single-teacher method of a comparison distils from the same teacher:
    # {param name: "teacher" | "teacher_set"}
    profile_teachers: ClassVar[dict[str, str]] = {}
    # the registered method whose training this one's is, term for term, under equal hyperparameters
    # (environment-mask trains exactly vanilla): the runner then deploys that method's run behind this
    # method's routes instead of training the same network twice (``sedbench.runner.shared_source``)
    trains_as: ClassVar[str | None] = None
    # set by @register_method: hash of the class's source file(s), part of every run's identity
    source_hash: ClassVar[str] = ""

    def __init__(self, params: Any | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def teachers(self) -> list[str]:
        """Names of the profile's teachers this method reads from the cache."""
        return []

    def partitions(self, classes: tuple[str, ...], environments: dict[str, tuple[str, ...]],
                   clip_environments: np.ndarray | None) -> list[Partition]:
        return [Partition()]

    def routes(self, partition: Partition, environments: dict[str, tuple[str, ...]]) -> list[Partition]:
        """How the student trained on ``partition`` is deployed at evaluation: one or more routes,
        each a Partition whose ``environment`` selects the evaluation clips it predicts (None: all)
        and whose ``classes`` are kept (the others are forced to probability 0; None: all).
        Default: as trained. A route never changes training; it only masks and routes outputs
        (see `environment-mask`, which deploys one general student behind the oracle mask).
        """
        return [partition]

    def setup(self, ctx: SetupContext) -> nn.ModuleDict:
        """Build the training-only modules (heads, projections); they are never deployed."""
        return nn.ModuleDict()

    def loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Extra loss terms for this step, already weighted; the engine adds them to the base loss."""
        return {}

    def on_step_end(self, ctx: StepContext) -> None:
        """Called after the optimiser step and the mean-student update. State that changes during
        training belongs in ``setup``'s modules: a stopped training resumes from a checkpoint of those
        (``sedbench.training.checkpoint``); state kept on ``self`` would not come back."""


# ------------------------------------------------------------------------------------ registry
_REGISTRY: dict[str, type[Method]] = {}
_loading_source = "python"
_discovered = False
_override = False  # --override-methods: a plugin may replace a registered method of the same name


def allow_override(allowed: bool = True) -> None:
    """Let plugins replace registered methods of the same name (the CLI's --override-methods)."""
    global _override
    _override = bool(allowed)


def _defined_in(cls: type) -> str:
    """Where a class comes from: re-running the same file (plugins are re-read) is not a duplicate."""
    return f"{inspect.getsourcefile(cls) or cls.__module__}:{cls.__qualname__}"


def source_hash(cls: type) -> str:
    """Hash of the source files of a method class and of its method base classes (not of sedbench's
    own ``Method``): part of a run's identity, so a changed method never reuses another's records."""
    h = hashlib.sha256()
    for klass in cls.__mro__:
        if klass is Method or not (isinstance(klass, type) and issubclass(klass, Method)):
            continue
        path = inspect.getsourcefile(klass)
        try:
            h.update(Path(path).read_bytes() if path else inspect.getsource(klass).encode())
        except (OSError, TypeError):  # defined interactively: its name is all there is
            h.update(klass.__qualname__.encode())
        for helper in _helper_files(klass, path):
            h.update(helper.read_bytes())
    return h.hexdigest()[:16]


def _helper_files(klass: type, path: str | None) -> list[Path]:
    """Modules beside a method's file that it imports (a plugin's helpers, a package's files): their
    code is the method's code too. Read from the file's import statements, so a constant counts as
    much as a function. One level: a helper's own imports outside its folder are not followed."""
    if not path or not Path(path).is_file():
        return []
    own = Path(path).resolve()
    try:
        tree = ast.parse(own.read_bytes())
    except (SyntaxError, ValueError):
        return []
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
              and node.level == 0}
    files: list[Path] = []
    for name in sorted({n.split(".")[0] for n in names}):
        module_file, package = own.parent / f"{name}.py", own.parent / name / "__init__.py"
        local = module_file if module_file.is_file() else package if package.is_file() else None
        if local is None or local == own:
            continue
        where = getattr(sys.modules.get(name), "__file__", None)
        if where and Path(where).resolve() != local.resolve():  # another plugin's helper of the same name
            raise ConfigError(f"{own}: imports {name!r}, which is {local} beside it, but a module {name!r} from "
                              f"{where} is already loaded; rename the helper")
        files += [local] if local is module_file else sorted(local.parent.rglob("*.py"))
    return files


def register_method(name: str) -> Callable[[type[Method]], type[Method]]:
    """Class decorator: ``@register_method("vanilla") class Vanilla(Method): ...``."""

    def decorator(cls: type[Method]) -> type[Method]:
        if not is_folder_name(name):  # it names the runs' folders
            raise ConfigError(f"@register_method({name!r}): a method's name is {FOLDER_NAME_RULE}")
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"@register_method({name!r}) must decorate a subclass of sedbench.methods.Method")
        bad = {f.name for f in dataclasses.fields(cls.Params)} & FORBIDDEN_PARAMS
        if bad:
            raise ConfigError(
                f"method {name}: hyperparameter(s) {sorted(bad)} belong to the benchmark, not to a method; "
                "methods may not change data, schedule, student or seeds"
            )
        if cls.deploy not in ("student", "mean_student"):
            raise ConfigError(f"method {name}: deploy must be 'student' or 'mean_student', not {cls.deploy!r}")
        fields = {f.name for f in dataclasses.fields(cls.Params)}
        for param, kind in cls.profile_teachers.items():
            if param not in fields or kind not in ("teacher", "teacher_set"):
                raise ConfigError(
                    f"method {name}: profile_teachers maps hyperparameters of its Params to 'teacher' or "
                    f"'teacher_set'; {param!r}: {kind!r} is not one"
                )
        for attr in ("control", "trains_as"):
            if getattr(cls, attr) is not None and not isinstance(getattr(cls, attr), str):
                raise ConfigError(f"method {name}: {attr} must be the name of a registered method or None")
        if cls.trains_as == name:
            raise ConfigError(f"method {name}: trains_as names the method itself; name the method it trains as")
        existing = _REGISTRY.get(name)
        if existing is not None and _defined_in(existing) != _defined_in(cls) and not _override:
            raise ConfigError(
                f"method {name!r} from {_loading_source} is already registered by {existing.source}; "
                "rename the plugin's method, or pass --override-methods to replace the registered one"
            )
        _warn_near_hooks(cls, name)
        cls.name = name
        cls.source = _loading_source
        cls.source_hash = source_hash(cls)
        if not cls.description and cls.__doc__:
            cls.description = cls.__doc__.strip().splitlines()[0]
        _REGISTRY[name] = cls
        return cls

    return decorator


HOOKS = ("teachers", "partitions", "routes", "setup", "loss", "on_step_end")


def _warn_near_hooks(cls: type[Method], name: str) -> None:
    """A misspelt hook (``losses``, ``on_step_ends``) is never called: the method would train as the
    recipe alone and still record its teachers. Said once, at registration."""
    import warnings

    from sedbench.errors import SedbenchWarning

    own = {attr for klass in cls.__mro__ if klass is not Method and issubclass(klass, Method)
           for attr, value in vars(klass).items() if callable(value) and not attr.startswith("_")}
    for attr in sorted(own - set(HOOKS)):
        near = difflib.get_close_matches(attr, HOOKS, n=1, cutoff=0.8)
        if near:
            warnings.warn(f"method {name} from {_loading_source}: {attr}() is no hook of Method, so it is never "
                          f"called; did you mean {near[0]}()? (hooks: {', '.join(HOOKS)})", SedbenchWarning,
                          stacklevel=3)


def _load_file(path: Path, source: str) -> None:
    global _loading_source
    if not path.is_file():
        raise SedbenchError(f"--plugin {path}: no such file; give the path to a Python file")
    if path.suffix != ".py":  # importlib finds no loader for another suffix
        raise SedbenchError(f"--plugin {path}: not a .py file; give the path to a Python file")
    module_name = f"sedbench_plugin_{path.stem.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    previous, _loading_source = _loading_source, source
    # a plugin may import helper modules beside it (`from my_helpers import hint_loss`), as a script
    # run with `python` may; its folder is searched first, and only while the plugin loads (a helper
    # of the same name from another folder is refused by _helper_files)
    folder = str(path.resolve().parent)
    searched = source != "built-in" and folder not in sys.path
    if searched:
        sys.path.insert(0, folder)
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except SedbenchError:
        raise
    except Exception as exc:
        raise SedbenchError(f"{path}: the method plugin failed to import ({one_line(exc)})") from exc
    finally:
        _loading_source = previous
        if searched:
            sys.path.remove(folder)


def discover(plugins: list[str | Path] | tuple[str | Path, ...] = ()) -> dict[str, type[Method]]:
    """Load built-in methods, entry-point plugins and plugin files; return the registry."""
    global _discovered, _loading_source
    if not _discovered:
        for path in sorted(BUILTIN_DIR.glob("*.py")):
            if not path.name.startswith("_"):
                _load_file(path, "built-in")
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            previous, _loading_source = _loading_source, f"entry point ({ep.value})"
            try:
                ep.load()
            except SedbenchError:
                raise
            except Exception as exc:
                raise SedbenchError(f"entry point {ep.value} (group {ENTRY_POINT_GROUP}): the method plugin failed "
                                    f"to import ({one_line(exc)})") from exc
            finally:
                _loading_source = previous
        _discovered = True
    for plugin in plugins:
        _load_file(Path(plugin), f"file ({plugin})")
    _check_references()
    return dict(_REGISTRY)


def _check_references() -> None:
    """A control or trains_as must name a registered method: said where the name was written, when
    the registry is complete, not as an unknown method later in a run."""
    for name, cls in _REGISTRY.items():
        for attr in ("control", "trains_as"):
            target = getattr(cls, attr)
            if target is not None and target not in _REGISTRY:
                close = difflib.get_close_matches(target, _REGISTRY, n=1, cutoff=0.6)
                raise ConfigError(f"method {name} from {cls.source}: {attr} = {target!r} is not a registered method"
                                  + (f"; did you mean {close[0]!r}?" if close else ""))


def method_names(plugins: tuple[str | Path, ...] = ()) -> list[str]:
    return sorted(discover(plugins))


def get_method(name: str, plugins: tuple[str | Path, ...] = ()) -> type[Method]:
    registry = discover(plugins)
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(registry))}"
        raise SedbenchError(f"unknown method {name!r}; {hint} (see `sedbench methods`)")
    return registry[name]


def method_defaults(name: str) -> dict[str, Any]:
    path = CONFIG_DIR / "methods" / f"{name}.yaml"
    return load_yaml(path) if path.is_file() else {}


def build_params(cls: type[Method], overrides: dict[str, Any] | None = None) -> Any:
    """Hyperparameters: dataclass defaults < configs/methods/<name>.yaml (built-in methods) < profile/CLI
    overrides. A plugin's defaults are its dataclass's: one that replaces a built-in (--override-methods)
    does not inherit the built-in's YAML, which named keys its Params may not have."""
    defaults = method_defaults(cls.name) if cls.source == "built-in" else {}
    values = {**defaults, **(overrides or {})}
    known = {f.name for f in dataclasses.fields(cls.Params)}
    unknown = sorted(set(values) - known)
    if unknown:
        bad = set(unknown) & FORBIDDEN_PARAMS
        if bad:
            raise ConfigError(
                f"method {cls.name}: {sorted(bad)} cannot be set per method; the benchmark fixes data, "
                "schedule, student and seeds for every method"
            )
        raise ConfigError(
            f"method {cls.name}: unknown hyperparameter(s) {unknown}; valid: {sorted(known) or 'none'}"
        )
    # typed and normalised: `--set methods.vanilla.tau=5e-1` arrives as the text '5e-1' (YAML 1.1)
    return cls.Params(**check_dataclass(cls.Params, values, f"methods.{cls.name}"))


def profile_teacher_values(cls: type[Method], config: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters a method takes from the profile's default teacher (``teacher:``) and
    default teacher set (``teacher_set:``), as its ``profile_teachers`` declares."""
    values: dict[str, Any] = {}
    for param, kind in cls.profile_teachers.items():
        value = config.get(kind)
        if value is not None:
            values[param] = list(value) if kind == "teacher_set" else str(value)
    return values


def method_settings(config: dict[str, Any], name: str, plugins: tuple[str | Path, ...] = ()) -> dict[str, Any]:
    """A method's hyperparameter overrides in a resolved profile: its default teacher(s) from the
    profile, then its ``methods.<name>`` section (where ``--set methods.<name>.<param>=...`` lands),
    which may still override the teacher for a deliberate study (the run records what was used)."""
    cls = get_method(name, plugins)
    section = dict((config.get("methods") or {}).get(name) or {})
    return {**profile_teacher_values(cls, config), **section}


def build_method(name: str, overrides: dict[str, Any] | None = None,
                 plugins: tuple[str | Path, ...] = ()) -> Method:
    cls = get_method(name, plugins)
    return cls(build_params(cls, overrides))


def params_dict(method: Method) -> dict[str, Any]:
    return dataclasses.asdict(method.params)
