"""User-facing errors: the CLI prints them as one line, without a traceback."""


class SedbenchError(Exception):
    """A mistake the user can fix (bad input, missing file, unknown name).

    The message must name the file or option at fault and say what to do.
    """


class DataError(SedbenchError):
    """A dataset file is missing, unreadable or inconsistent."""


class ConfigError(SedbenchError):
    """A configuration file or option is invalid."""


class TrainingError(SedbenchError):
    """Training stopped for a reason the user should know about (NaN loss, budget violation)."""
