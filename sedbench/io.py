"""Atomic file writes: a reader never sees a half-written file, and a crash never destroys the old one.

Temporary files and folders (``tempfile`` makes them private: 0600, 0700) get the permissions a plain
write would give (the umask's), so a results folder shared by a group stays readable by it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# a name that becomes one folder of a path (profile, method, teacher, evaluation): `..` or `a/b` would
# write outside the folder meant for it, a leading dot would hide it; anything else a file system takes
FOLDER_NAME = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]*")
FOLDER_NAME_RULE = "one folder name (no / or \\, not starting with a dot)"


def is_folder_name(name: object) -> bool:
    return isinstance(name, str) and FOLDER_NAME.fullmatch(name) is not None


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (os.umask can only read it
    by setting it, which races with a thread creating a file meanwhile)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(beside: str | os.PathLike, prefix: str) -> Path:
    """A new hidden folder beside ``beside`` (in its parent), with a plain folder's permissions."""
    beside = Path(beside)
    beside.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=beside.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def exchange_dirs(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot.
    os has no exchange; without it a swap is two renames, between which a reader finds neither."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc older than glibc 2.28
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def replace_dir(src: Path, dst: Path, aside: Path | None = None) -> None:
    """Put folder ``src`` where ``dst`` is: one exchange where the system has it, else the old folder
    moves ``aside`` first (a folder cannot be renamed over a non-empty one; a caller that can mend a
    swap cut off between the two renames names the place). ``src`` is gone after."""
    import shutil

    if dst.exists() and exchange_dirs(src, dst):
        shutil.rmtree(src, ignore_errors=True)  # now the old folder
        return
    old = None
    if dst.exists():
        old = aside or dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    return atomic_write_text(path, text)


def _json_default(obj: Any) -> Any:
    # numpy scalars and paths show up in records; everything else is a bug worth seeing
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
