"""What the console shows besides tables of results: the methods list, one method in full, and warnings.

Tables stay readable in 80 columns and in a pipe: names never fold mid-word (a name is one token a
user greps or copies), long texts wrap at words or move to ``sedbench methods NAME``.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from pathlib import Path

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sedbench.errors import SedbenchWarning


def methods_table(plugins: tuple[str | Path, ...] = (), config: dict | None = None) -> Table:
    """One row per registered method: name and deployed network whole, the description wrapping.
    ``config``: a loaded profile, whose teachers the column shows (None: each method's own defaults)."""
    from sedbench.methods import discover

    registry = discover(plugins)
    sources = {cls.source for cls in registry.values()}
    teachers = {name: _teachers_of(cls, config) for name, cls in registry.items()}
    longest_teacher = max((len(t) + 1 for v in teachers.values() for t in v.split(", ") if t), default=8)
    title = "sedbench methods" + (f" (teachers of profile {config['name']})" if config else "")
    table = Table(title=title, caption="`sedbench methods NAME` shows a method's docstring and "
                  "hyperparameters.", caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("method", no_wrap=True, style="bold")
    table.add_column("deploys", no_wrap=True)
    table.add_column("teachers", min_width=longest_teacher, max_width=max(longest_teacher, 16))
    table.add_column("description", ratio=1, min_width=20)
    if len(sources) > 1:  # only worth a column when a plugin adds methods
        table.add_column("source", max_width=24)
    for name, cls in sorted(registry.items()):
        # a control is marked as one; a method names the control that isolates its mechanism
        role = "[control] " if cls.is_control else ""
        against = f" (control: {cls.control})" if cls.control else ""
        row = [name, cls.deploy, teachers[name] or "-", f"{role}{cls.description}{against}"]
        if len(sources) > 1:
            row.append(cls.source)
        table.add_row(*[escape(str(v)) for v in row])
    return table


def describe_method(name: str, plugins: tuple[str | Path, ...] = (), config: dict | None = None) -> Group:
    """Everything about one method: docstring, source, deployed network, teachers, hyperparameters
    (as a run of ``config``, a loaded profile, sets them; None: the method's own defaults)."""
    from sedbench.methods import build_params, get_method, method_settings

    cls = get_method(name, plugins)
    params = dataclasses.asdict(build_params(cls, method_settings(config, name, plugins) if config else None))
    doc = inspect.cleandoc(cls.__doc__ or cls.description or "")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("source", escape(str(cls.source)))
    facts.add_row("deploys", cls.deploy)
    facts.add_row("teachers", escape(_teachers_of(cls, config) or "none"))
    facts.add_row("relative cost", f"{cls.relative_cost:g} x scratch's training step")
    for attr, label in (("control", "its control"), ("is_control", "is a control")):
        value = getattr(cls, attr, None)  # attributes of the controls layer; absent in older registries
        if value not in (None, False):
            facts.add_row(label, escape(str(value)))
    hyper = Table.grid(padding=(0, 2))
    hyper.add_column(no_wrap=True)
    hyper.add_column(overflow="fold")
    for key, value in params.items():
        hyper.add_row(key, escape(repr(value)))
    parts = [Text(name, style="bold"), Text(doc), Text(""), facts]
    if params:
        where = f"configs/methods/{name}.yaml, " if cls.source == "built-in" else ""  # a plugin's are its own
        shown = f"as profile {config['name']} sets them" if config else "defaults"
        parts += [Text(""), Text(f"hyperparameters ({shown}; {where}a profile's teacher:, methods.{name} and "
                                 f"--set methods.{name}.KEY=VALUE override the defaults):", style="dim"), hyper]
    return Group(*parts)


def _teachers_of(cls, config: dict | None = None) -> str:
    """The teachers a method reads with its default hyperparameters, or as a run of ``config`` sets
    them ('' when none or undecidable)."""
    from sedbench.methods import build_params, method_settings

    try:
        overrides = method_settings(config, cls.name) if config else None
        return ", ".join(cls(build_params(cls, overrides)).teachers())
    except Exception:  # a method may need a profile's settings to name its teachers
        return ""


def say(console: Console, label: str, text: object) -> None:
    """One line ``label text`` on ``console``: ``label`` is rich markup, ``text`` is shown as it is (it quotes
    paths, options and values a user typed, and "[/x]" in them is no markup: unescaped, it crashed rich)."""
    console.print(f"{label} {escape(str(text))}", highlight=False, soft_wrap=True)


def one_line_warnings(console: Console | None = None, debug: bool = False) -> None:
    """Show every warning as one line, each distinct text once (no source lines on a user's screen).

    sedbench's own (SedbenchWarning) read ``note: ...``; another library's read ``warning (library):
    ...``. With ``debug`` Python's full format comes back, source line included.
    """
    if debug:
        return
    console = console or Console(stderr=True)
    seen: set[tuple[type, str]] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = (str(message).strip().splitlines() or [category.__name__])[0]
        if (category, text) in seen:
            return
        seen.add((category, text))
        if issubclass(category, SedbenchWarning):
            say(console, "[yellow]note:[/]", text)
        else:
            origin = _library(filename)
            say(console, f"[yellow]warning[/] ({escape(origin)}):", text)

    warnings.showwarning = show


def _library(filename: str) -> str:
    parts = Path(filename).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1 :]
        return rest[0].removesuffix(".py") if rest else filename
    return Path(filename).stem
