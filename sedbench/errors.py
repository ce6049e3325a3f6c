"""User-facing errors: the CLI prints them as one line, without a traceback."""


class SedbenchError(Exception):
    """A mistake the user can fix (bad input, missing file, unknown name).

    The message must name the file or option at fault and say what to do.
    """


class DataError(SedbenchError):
    """A dataset file is missing, unreadable or inconsistent."""


def unreadable_audio(path: object, exc: BaseException) -> DataError:
    """The one message for an audio file soundfile cannot read (reader, feature cache and check)."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return DataError(f"{path}: unreadable audio ({reason}); replace or remove the file")


class ConfigError(SedbenchError):
    """A configuration file or option is invalid."""


class TrainingError(SedbenchError):
    """Training stopped for a reason the user should know about (NaN loss, budget violation)."""


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
