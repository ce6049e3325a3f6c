"""Data: the desed-synth generator, the DESED reader, checks, features, labels and batches."""

from sedbench.data.classes import CLASSES, ENVIRONMENTS

__all__ = ["CLASSES", "ENVIRONMENTS"]
