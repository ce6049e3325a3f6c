"""sedbench: compare knowledge-distillation methods for sound event detection, honestly."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sedbench")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0"

__all__ = ["__version__"]
