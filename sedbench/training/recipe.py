"""Recipe switches of the training configuration: precision, checkpoint selection, the weak validation
split, and a schedule counted in epochs (DESED_task's units) instead of steps.

``TrainConfig`` (sedbench.training.engine) inherits these fields, so they are ordinary ``training:``
options of a profile:

- ``precision``: ``bf16`` (autocast to bfloat16 on CUDA; CPU runs stay float32) or ``fp32``
  (no autocast anywhere; DESED_task trains in 32-bit).
- ``selection``: the checkpoint criterion. ``psds1``: synthetic-validation PSDS1 (ties broken by
  the mean per-class PSDS1). ``dcase``: DESED_task's objective, weak-validation clip macro F1 +
  synthetic-validation intersection F1 (threshold 0.5, dtc = gtc = 0.5); it needs a weak validation
  split (``weak_val_share`` > 0).
- ``weak_val_share``: the share of train_weak clips held out of training as weak validation (DESED_task:
  10 %, ``weak_split: 0.9``), drawn once with a fixed seed so every method and seed holds out the same
  clips.
- ``epochs``, ``warmup_epochs``, ``consistency_rampup_epochs``, ``val_every_epochs``: the schedule in
  epochs; each replaces its step-counted twin (``steps``, ``warmup_steps``, ``consistency_rampup_steps``,
  ``val_every``), and exactly one of each pair must be set (the other null). An epoch is
  ``steps_per_epoch`` steps; null means DESED_task's epoch: the smallest number of full batches in
  any of the strong, weak and unlabeled parts (118 on DESED with a 90 % weak split and 12/12/24
  batches). ``in_steps`` turns an epoch-counted configuration into steps once the data is known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sedbench.errors import ConfigError

PRECISIONS = ("fp32", "bf16")
SELECTIONS = ("psds1", "dcase")
# (step-counted option, epoch-counted twin); the first of each must be at least one step
SCHEDULE_PAIRS = (
    ("steps", "epochs"),
    ("warmup_steps", "warmup_epochs"),
    ("consistency_rampup_steps", "consistency_rampup_epochs"),
    ("val_every", "val_every_epochs"),
)
WEAK_VAL_SEED = 42  # DESED_task's `training.seed`, which draws its weak split


@dataclass
class RecipeOptions:
    precision: str = "bf16"
    selection: str = "psds1"
    weak_val_share: float = 0.0
    epochs: float | None = None
    steps_per_epoch: int | None = None
    warmup_epochs: float | None = None
    consistency_rampup_epochs: float | None = None
    val_every_epochs: float | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"training.precision: {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        if self.selection not in SELECTIONS:
            raise ConfigError(f"training.selection: {self.selection!r}; use one of {', '.join(SELECTIONS)}")
        share = self.weak_val_share
        if share is None or not 0.0 <= float(share) < 1.0:
            raise ConfigError(f"training.weak_val_share: {share!r}; give a share in [0, 1), e.g. 0.1")
        if self.selection == "dcase" and not share:
            raise ConfigError("training.selection dcase scores a weak validation split: set "
                              "training.weak_val_share (DCASE: 0.1)")
        if self.steps_per_epoch is not None and int(self.steps_per_epoch) < 1:
            raise ConfigError(f"training.steps_per_epoch: {self.steps_per_epoch!r}; give a count >= 1 or null")
        for steps, epochs in SCHEDULE_PAIRS:
            by_steps, by_epochs = getattr(self, steps, None), getattr(self, epochs)
            if (by_steps is None) == (by_epochs is None):
                raise ConfigError(
                    f"training.{steps}={by_steps} and training.{epochs}={by_epochs}: set exactly one of "
                    f"them and the other to null (e.g. --set training.{epochs}=null)"
                )
            if by_epochs is not None and float(by_epochs) < 0:
                raise ConfigError(f"training.{epochs}: {by_epochs!r}; give a number of epochs >= 0")

    def autocast(self, device: Any) -> bool:
        """Whether training steps run under bfloat16 autocast on ``device`` (a torch.device)."""
        return self.precision == "bf16" and getattr(device, "type", str(device)) == "cuda"

    @property
    def counted_in_epochs(self) -> bool:
        return any(getattr(self, epochs) is not None for _, epochs in SCHEDULE_PAIRS)

    def in_steps(self, epoch_length: int) -> Any:
        """The same configuration with every epoch-counted option turned into steps.

        ``epoch_length`` is DESED_task's epoch on the training data (used unless ``steps_per_epoch``
        is set). The result keeps ``steps_per_epoch`` (the value used) for the record.
        """
        if not self.counted_in_epochs:
            return self
        per_epoch = int(self.steps_per_epoch or epoch_length)
        if per_epoch < 1:
            raise ConfigError("training: the training data has less than one full batch per epoch; "
                              "lower the batch sizes or set training.steps_per_epoch")
        values: dict[str, Any] = {"steps_per_epoch": per_epoch}
        for steps, epochs in SCHEDULE_PAIRS:
            n = getattr(self, epochs)
            if n is not None:
                minimum = 0 if steps in ("warmup_steps", "consistency_rampup_steps") else 1
                values[steps] = max(minimum, round(float(n) * per_epoch))
                values[epochs] = None
        return replace(self, **values)
