"""The training engine: the DCASE mean-teacher recipe at student size, identical for every method.

A plain PyTorch loop. Methods plug in at four points (see sedbench.methods.Method): ``setup``
(training-only modules), ``loss`` (extra terms per step), ``on_step_end``, and ``deploy`` (which
network is evaluated). Everything else, the data order, the schedule, the student and the seeds,
is fixed here so that every method is trained under the same conditions.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from sedbench.data.batches import DEFAULT_BATCH_SIZES, EvalData, MixedBatchSampler, TrainingData
from sedbench.errors import ConfigError, MethodError, SedbenchError, TrainingError
from sedbench.methods import Method, Partition, SetupContext, StepContext
from sedbench.models import ModelOutput
from sedbench.teachers import TeacherCache
from sedbench.training import losses
from sedbench.training.checkpoint import Checkpoint, fits
from sedbench.training.ema import ema_factor, make_mean_student, update_mean_student
from sedbench.training.mixup import draw_mix, host_array
from sedbench.training.recipe import RecipeOptions

# Logit given to classes outside a partition's subset: sigmoid(-1e4) == 0 exactly in float32.
MASKED_LOGIT = -1e4
# On an accelerator the loss is read back (finiteness check, progress) every this many steps.
SYNC_EVERY = 25


@dataclass
class TrainConfig(RecipeOptions):  # + precision, selection, weak_val_share, epoch-counted schedule
    steps: int = 600
    batch_size: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BATCH_SIZES))
    lr: float = 1e-3
    warmup_steps: int = 50
    ema_decay: float = 0.999
    consistency_weight: float = 2.0
    consistency_rampup_steps: int = 300
    mixup_prob: float = 0.5
    mixup_alpha: float = 0.2
    clip_grad: float = 5.0
    val_every: int = 100
    eval_batch_size: int = 64

    def scaled(self, share: float) -> TrainConfig:
        """The same schedule compressed to ``share`` of its steps (a partition's student)."""
        if share >= 1.0:
            return self
        def scale(n: int) -> int:
            return max(1, round(n * share))
        return replace(self, steps=scale(self.steps), warmup_steps=scale(self.warmup_steps),
                       consistency_rampup_steps=scale(self.consistency_rampup_steps),
                       val_every=scale(self.val_every))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"training: unknown option(s) {unknown}; valid: {sorted(known)}")
        return cls(**values)


class DeployedModel(nn.Module):
    """The network a method deploys, with classes outside its subset forced to probability 0."""

    def __init__(self, net: nn.Module, class_mask: torch.Tensor | None = None) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("class_mask", class_mask, persistent=False)  # None is allowed

    def forward(self, x: torch.Tensor) -> ModelOutput:
        out = self.net(x)
        if self.class_mask is None:
            return out
        keep = self.class_mask.to(out.frame_logits.device)
        return ModelOutput(
            frame_logits=out.frame_logits.masked_fill(~keep, MASKED_LOGIT),
            clip_logits=out.clip_logits.masked_fill(~keep, MASKED_LOGIT),
            features=out.features,
        )


@dataclass
class TrainedPartition:
    partition: Partition
    deployed: DeployedModel  # best checkpoint by validation PSDS1, in eval mode, on CPU
    training_only_params: int
    best_step: int
    best_score: Any  # what validate() returned for the chosen checkpoint
    history: list[dict[str, float]]
    resumed_from: int = 0  # the step a stopped training resumed from (0: trained in one go)
    earlier_s: float = 0.0  # seconds of training before that step, in the process that was stopped
    resumed_code: dict | None = None  # the git state of the code that wrote that checkpoint (provenance)


def save_checkpoint(checkpoint: Checkpoint, state: dict[str, Any], step: int) -> None:
    """Save the training's state; a disk that refuses it (full, quota, gone read-only) costs only the
    resume, never the training: it goes on, and a stop would resume from the last state saved."""
    try:
        checkpoint.save(state)
    except OSError as exc:
        warnings.warn(f"checkpoint {checkpoint.path} not saved at step {step} ({exc.strerror or exc}); training "
                      "goes on, and a stop now would resume from the last one saved", RuntimeWarning, stacklevel=2)


@contextmanager
def hook_errors(method: str, hook: str) -> Iterator[None]:
    """A plugin's crash in one of its hooks says which method and hook, in one line (MethodError)."""
    try:
        yield
    except (SedbenchError, torch.OutOfMemoryError, torch.AcceleratorError):
        # already said in words; memory is no bug of the hook; and a CUDA kernel's error surfaces at the
        # device's next synchronisation, often in a hook that did not launch it: naming the hook would mislead
        raise
    except Exception as exc:
        raise MethodError.from_hook(method, hook, exc) from exc


def class_mask_for(classes: tuple[str, ...], subset: tuple[str, ...] | None) -> torch.Tensor | None:
    if subset is None:
        return None
    unknown = set(subset) - set(classes)
    if unknown:
        raise ConfigError(f"partition classes {sorted(unknown)} are not among the dataset's classes")
    return torch.tensor([c in subset for c in classes])


def architecture_signature(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


@torch.no_grad()
def predict(model: nn.Module, data: EvalData, device: torch.device, batch_size: int = 64,
            rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame and clip probabilities (N, T, C), (N, C) for the clips of ``data`` (or ``rows``)."""
    model.eval()
    rows = np.arange(len(data.clip_ids)) if rows is None else np.asarray(rows)
    frames, clips = [], []
    for start in range(0, len(rows), batch_size):
        features = torch.from_numpy(np.asarray(data.features[rows[start:start + batch_size]]))
        frame_probs, clip_probs = predict_batch(model, features, device)
        frames.append(frame_probs.numpy())
        clips.append(clip_probs.numpy())
    return np.concatenate(frames), np.concatenate(clips)


def predict_routed(students: Sequence[tuple[str | None, nn.Module]], data: EvalData, device: torch.device,
                   batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Frame and clip probabilities of every clip from the student of its environment (``None``: the
    one student of every clip), each model moved to ``device`` for its clips and back to the CPU.
    The one routing of the runner's validation, a run's eval and ``evaluate --data``."""
    if len(students) == 1 and students[0][0] is None:
        model = students[0][1]
        try:
            return predict(model.to(device), data, device, batch_size)
        finally:
            model.cpu()  # a deployed model lives on the CPU: model.pt never holds device tensors
    n = len(data.clip_ids)
    frames = clips = None
    covered = np.zeros(n, dtype=bool)
    for environment, model in students:
        rows = environment_rows(data, environment) if environment else np.arange(n)
        if len(rows) == 0:
            continue
        f, c = predict(model.to(device), data, device, batch_size, rows=rows)
        model.cpu()
        if frames is None:
            frames = np.zeros((n, *f.shape[1:]), np.float32)
            clips = np.zeros((n, c.shape[1]), np.float32)
        frames[rows], clips[rows] = f, c
        covered[rows] = True
    if not covered.all():
        missing = sorted({str(data.environments.get(data.clip_ids[i])) for i in np.flatnonzero(~covered)})
        split = getattr(data, "split", "evaluated")
        raise SedbenchError(f"no student was trained for environment(s) {missing} of the {split} clips; "
                            f"the students are for {', '.join(str(e) for e, _ in students)}")
    return frames, clips


@torch.no_grad()
def predict_batch(model: nn.Module, features: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame and clip probabilities of one CPU batch, computed on ``device``, returned as fp32 on the CPU."""
    out = model(features.to(device))
    return torch.sigmoid(out.frame_logits.float()).cpu(), torch.sigmoid(out.clip_logits.float()).cpu()


def train_partition(
    *,
    build_student: Callable[[], nn.Module],
    method: Method,
    partition: Partition,
    setup: SetupContext,
    data: TrainingData,
    validation: EvalData | None,
    validate: Callable[[nn.Module, np.ndarray | None], Any] | None,
    teachers: dict[str, TeacherCache],
    cfg: TrainConfig,
    seed: int,
    device: torch.device,
    augment: Callable[[torch.Tensor, np.random.Generator], torch.Tensor] | None = None,
    on_step: Callable[[int, float], None] | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainedPartition:
    """Train one student on one partition and return its best deployed checkpoint.

    ``validate(model, val_rows)`` scores a deployed model on the validation clips: a number or a tuple
    compared lexicographically, higher is better; on a tie the later checkpoint wins. ``checkpoint``:
    the state is saved there at every validation and a stopped training resumes from it
    (``sedbench.training.checkpoint``).
    """
    if not 0.0 < partition.share <= 1.0:
        raise TrainingError(f"method {method.name}: partition {partition.name} asks for a share of "
                            f"{partition.share} of the schedule; shares must be in (0, 1]")
    cfg = cfg.scaled(partition.share)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    student = build_student().to(device)
    signature = architecture_signature(student)
    mean_student = make_mean_student(student)
    class_mask = class_mask_for(setup.classes, partition.classes)
    class_mask_dev = class_mask.to(device) if class_mask is not None else None

    setup.student, setup.partition = student, partition
    with hook_errors(method.name, "setup"):
        modules = method.setup(setup).to(device)
    if architecture_signature(student) != signature:
        raise TrainingError(
            f"method {method.name} changed the student's architecture in setup(); add training-only "
            "modules through the returned ModuleDict instead"
        )
    training_only_params = sum(p.numel() for p in modules.parameters())
    params = [p for p in student.parameters()] + [p for p in modules.parameters()]
    optimizer = torch.optim.Adam(params, lr=cfg.lr, betas=(0.9, 0.999))
    sampler = MixedBatchSampler(data, cfg.batch_size, seed=seed, steps=cfg.steps, rows=partition.rows)
    val_rows = _validation_rows(validation, partition)

    best: tuple[Any, int, dict | None] = (None, 0, None)
    history: list[dict[str, float]] = []
    resumed_from, earlier_s, resumed_code = 0, 0.0, None
    saved = checkpoint.load() if checkpoint is not None else None
    # restored after setup(), which draws from torch's generator as it did the first time
    if saved is not None and fits(saved, {"student": student, "mean_student": mean_student, "modules": modules},
                                  optimizer):
        student.load_state_dict(saved["student"])
        mean_student.load_state_dict(saved["mean_student"])
        modules.load_state_dict(saved["modules"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["torch_rng"])
        if device.type == "cuda" and "cuda_rng" in saved:
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        rng.bit_generator.state = saved["numpy_rng"]
        best, history = (saved["best_score"], saved["best_step"], saved["best_state"]), saved["history"]
        resumed_from, earlier_s, resumed_code = int(saved["step"]), float(saved["seconds"]), saved.get("code")
        if on_step is not None:
            on_step(resumed_from, None)
    started = time.perf_counter()
    # A host sync (isfinite, float(loss)) stalls a GPU's queue: on an accelerator the loss is read
    # every SYNC_EVERY steps (and at validation and the end); on the CPU reading it costs nothing.
    sync_every = 1 if device.type == "cpu" else SYNC_EVERY
    for step, indices in enumerate(sampler, start=1):
        if step <= resumed_from:  # the batch order is replayed, not stored
            continue
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * losses.exp_rampup(step, cfg.warmup_steps)
        total, terms, ctx = training_step(
            step=step, batch=data.batch(indices), student=student, mean_student=mean_student,
            modules=modules, method=method, teachers=teachers, cfg=cfg, rng=rng, device=device,
            class_mask=class_mask_dev, augment=augment)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
        optimizer.step()
        update_mean_student(mean_student, student, ctx.ema_factor)
        with hook_errors(method.name, "on_step_end"):
            method.on_step_end(ctx)
        validating = validate is not None and (step % cfg.val_every == 0 or step == cfg.steps)
        loss = None
        if step % sync_every == 0 or validating or step == cfg.steps:
            loss = check_finite(total, terms, step, sync_every)
        if on_step is not None:
            on_step(step, loss)

        if validating:
            net = mean_student if method.deploy == "mean_student" else student
            deployed = DeployedModel(net, class_mask_dev)
            score = validate(deployed, val_rows)
            history.append({"step": step, "val_score": score, "loss": loss})
            if best[0] is None or score >= best[0]:
                best = (score, step, copy.deepcopy(net.state_dict()))
            if checkpoint is not None:
                save_checkpoint(checkpoint, {
                    "step": step, "seconds": earlier_s + time.perf_counter() - started,
                    "student": student.state_dict(), "mean_student": mean_student.state_dict(),
                    "modules": modules.state_dict(), "optimizer": optimizer.state_dict(),
                    "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state,
                    **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                    "best_score": best[0], "best_step": best[1], "best_state": best[2], "history": history}, step)
    net = mean_student if method.deploy == "mean_student" else student
    if best[2] is not None:
        net.load_state_dict(best[2])
    deployed = DeployedModel(net, class_mask).cpu().eval()
    return TrainedPartition(partition, deployed, training_only_params, best[1], best[0], history,
                            resumed_from, earlier_s, resumed_code)


def resolve_device(device: str | None) -> torch.device:
    """``--device`` as a torch device (default: cuda when available, else cpu); a name torch does not
    know, or a CUDA device on a machine without one, is a one-line error before any work."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"--device {device}: not a torch device; use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (resolved.index is not None and resolved.index >= count):
            raise ConfigError(f"--device {device}: this machine has {count} CUDA device(s); leave --device out "
                              "or use cpu (`sedbench doctor` shows what torch sees)")
    return resolved


def autocast(cfg: TrainConfig, device: torch.device):
    """bf16 autocast where the recipe asks for it (``cfg.autocast``), else a no-op. The recurrent
    layers stay in fp32 either way (models/crnn.py)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.autocast(device))


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Move a CPU batch; to a GPU through pinned memory, so that the copy does not block the step."""
    if device.type == "cuda" and torch.cuda.is_available():  # pinning needs a CUDA driver
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}
    return {k: v.to(device) for k, v in batch.items()}


def training_step(*, step: int, batch: dict[str, torch.Tensor], student: nn.Module, mean_student: nn.Module,
                  modules: nn.ModuleDict, method: Method, teachers: dict[str, TeacherCache],
                  cfg: TrainConfig, rng: np.random.Generator, device: torch.device,
                  class_mask: torch.Tensor | None = None,
                  augment: Callable[[torch.Tensor, np.random.Generator], torch.Tensor] | None = None,
                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor], StepContext]:
    """The forward half of one step: the loss terms of the base recipe plus the method's, on ``device``.

    ``batch`` is the CPU batch of ``TrainingData.batch``. Everything decided by the host (the mix,
    which rows are strong or weak) is decided here from the CPU tensors, then moved with the batch,
    so the step never waits on the device: no ``nonzero`` or boolean-mask indexing of device tensors.
    """
    student.train()
    mean_student.train()
    modules.train()
    mix = draw_mix([batch["is_strong"], batch["is_weak"]], len(batch["index"]), rng, cfg.mixup_prob,
                   cfg.mixup_alpha).to(device)
    strong_rows = torch.from_numpy(np.flatnonzero(host_array(batch["is_strong"]))).to(device)
    weak_rows = torch.from_numpy(np.flatnonzero(host_array(batch["is_weak"]))).to(device)
    batch = to_device(batch, device)
    features = mix.apply(batch["features"])
    strong_targets = mix.apply(batch["strong"]).clamp(0, 1)
    weak_targets = mix.apply(batch["weak"]).clamp(0, 1)
    if augment is not None:
        features = augment(features, rng)

    with autocast(cfg, device):
        student_out = student(features)
        with torch.no_grad():
            mean_out = mean_student(features)
        terms = {
            "strong": losses.bce_with_logits(student_out.frame_logits.index_select(0, strong_rows).float(),
                                             strong_targets.index_select(0, strong_rows), class_mask),
            "weak": losses.bce_with_logits(student_out.clip_logits.index_select(0, weak_rows).float(),
                                           weak_targets.index_select(0, weak_rows), class_mask),
        }
        weight = cfg.consistency_weight * losses.exp_rampup(step, cfg.consistency_rampup_steps)
        terms["consistency"] = weight * (
            losses.consistency_mse(student_out.frame_logits.float(), mean_out.frame_logits.float(), class_mask)
            + losses.consistency_mse(student_out.clip_logits.float(), mean_out.clip_logits.float(), class_mask)
        )
        ctx = StepContext(
            step=step, total_steps=cfg.steps, batch=batch, features=features,
            student_out=student_out, mean_out=mean_out,
            teachers={name: cache.batch(batch["index"], mix) for name, cache in teachers.items()},
            student=student, mean_student=mean_student, modules=modules,
            ema_factor=ema_factor(step, cfg.ema_decay), class_mask=class_mask,
        )
        with hook_errors(method.name, "loss"):
            method_terms = method.loss(ctx)
        for name, value in method_terms.items():
            if not isinstance(value, torch.Tensor) or value.dim() != 0:  # backward() would say only "scalar outputs"
                got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
                raise TrainingError(f"method {method.name}: loss term {name!r} is a {got}; Method.loss returns "
                                    "0-dim tensors (reduce it, e.g. with .mean())")
            terms[f"{method.name}/{name}"] = value.float()
    return sum(terms.values()), terms, ctx


def check_finite(total: torch.Tensor, terms: dict[str, torch.Tensor], step: int, every: int) -> float:
    """The loss as a float (one host sync), or a TrainingError when it is not finite."""
    loss = float(total.detach())
    if not np.isfinite(loss):
        values = {k: float(v.detach()) for k, v in terms.items()}
        bad = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
        when = f"at step {step}" if every == 1 else f"by step {step} (checked every {every} steps)"
        own = [k for k, v in values.items() if "/" in k and not np.isfinite(v)]  # a method's own terms
        fix = (f"check how the method computes {', '.join(own)} (a log or a division by 0?) or lower its weight"
               if own else "lower the learning rate or the method's loss weights")
        raise TrainingError(f"loss is not finite {when} ({bad}); {fix}")
    return loss


def _validation_rows(validation: EvalData | None, partition: Partition) -> np.ndarray | None:
    """The validation clips that select an environment's student (None: all of them)."""
    if validation is None or partition.environment is None:
        return None
    rows = environment_rows(validation, partition.environment)
    if len(rows) == 0:  # was a ValueError from np.concatenate at the first validation
        raise TrainingError(f"the {validation.split} split has no clips of environment {partition.environment!r}, "
                            "so its student's checkpoints cannot be selected; add some (environments TSV) or "
                            "leave that environment out of environment_classes")
    return rows


def environment_rows(data: EvalData, environment: str) -> np.ndarray:
    """Rows of an evaluation split that belong to one environment."""
    if data.environments is None:
        raise ConfigError(f"the {data.split} split has no environments; environment-aware methods need them")
    envs = np.array([data.environments.get(c) for c in data.clip_ids], dtype=object)
    return np.flatnonzero(envs == environment)

