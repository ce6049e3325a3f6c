"""User-facing errors: the CLI prints them as one line, without a traceback."""

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class SedbenchError(Exception):
    """A mistake the user can fix (bad input, missing file, unknown name).

    The message must name the file or option at fault and say what to do.
    """


class DataError(SedbenchError):
    """A dataset file is missing, unreadable or inconsistent."""


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line, for a one-line error (torch's argument errors
    and libsndfile's span many lines); its type's name when it has no message."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()


# CUDA reports a kernel's error asynchronously: its traceback points at the next synchronisation
ASYNC_DEVICE_ERROR = ("a device error surfaces where the device next synchronises, not where it happened: "
                      "rerun with CUDA_LAUNCH_BLOCKING=1 to find the operation")


def one_line(exc: BaseException) -> str:
    """A failure said in one line: a SedbenchError's own message (it names the file or option); any
    other exception as ``Type: first line``, since its type is often the only clue (``RuntimeError``);
    a CUDA error with how to find where it happened."""
    reason = first_line(exc)
    if isinstance(exc, SedbenchError):
        return reason
    said = reason if reason == type(exc).__name__ else f"{type(exc).__name__}: {reason}"
    return f"{said}; {ASYNC_DEVICE_ERROR}" if _is_device_error(exc) else said


def _is_device_error(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")  # not imported here (the CLI starts without it): unloaded, no error is torch's
    return torch is not None and isinstance(exc, torch.AcceleratorError)


def unreadable_audio(path: object, exc: BaseException) -> DataError:
    """The one message for an audio file soundfile cannot read (reader, feature cache and check)."""
    reason = first_line(exc)
    return DataError(f"{path}: unreadable audio ({reason}); replace or remove the file")


class ConfigError(SedbenchError):
    """A configuration file or option is invalid."""


class TrainingError(SedbenchError):
    """Training stopped for a reason the user should know about (NaN loss, budget violation)."""


class MethodError(TrainingError):
    """A method's own hook (setup, loss, on_step_end, partitions, routes) raised: said in one line naming
    the method and the hook; the original exception is its ``__cause__`` and its traceback is kept in the
    run's record."""

    @classmethod
    def from_hook(cls, method: str, hook: str, exc: BaseException) -> "MethodError":
        # e.g. nn.Linear(64, None): torch's many-line TypeError; a SedbenchError is never wrapped (hook_errors)
        return cls(f"method {method}: {hook}() raised {one_line(exc)}")


class SedbenchWarning(UserWarning):
    """A condition the user should hear about once, in words (the CLI prints it as one `note:` line).

    Tests turn these into errors (tests/conftest.py): a test that expects one says so with
    ``pytest.warns``.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM received: handled like Ctrl-C, but said as what it was."""


def terminate_as_interrupt() -> None:
    """SIGTERM (``kill``, a scheduler's time limit) ends a command like Ctrl-C does: a run's record
    says ``interrupted`` instead of staying ``running``, and temporary files are cleaned up."""
    import signal

    def interrupt(signum, frame):
        raise Terminated

    signal.signal(signal.SIGTERM, interrupt)


@contextmanager
def spawn_without_sigint() -> Iterator[None]:
    """A context in which SIGINT is blocked in this thread, so that a process spawned inside starts with
    it blocked: a terminal Ctrl-C, which reaches the whole process group, cannot hit the child before
    it has set its own handler (``ignore_sigint``). The parent decides, and stops its children itself."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def ignore_sigint() -> None:
    """In a child started by ``spawn_without_sigint``: ignore SIGINT from now on (this also drops one
    that came while the child started), then unblock it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
