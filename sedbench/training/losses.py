"""Loss helpers shared by the engine and the method plugins (part of the public plugin API)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, class_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over every element, counting only the classes in ``class_mask`` (last dim)."""
    if class_mask is None:
        return values.mean()
    weights = class_mask.to(values.dtype).expand_as(values)
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def bce_with_logits(
    logits: torch.Tensor, targets: torch.Tensor, class_mask: torch.Tensor | None = None
) -> torch.Tensor:
    if logits.numel() == 0:
        return logits.sum() * 0.0
    return masked_mean(F.binary_cross_entropy_with_logits(logits, targets, reduction="none"), class_mask)


def kd_bce(
    student_logits: torch.Tensor,
    teacher_probs: torch.Tensor,
    tau: float = 1.0,
    class_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """KD(S, T) of SPEC.md 5: BCE between sigma(z_S / tau) and the teacher's tempered probabilities,
    times tau^2 so that gradients keep their scale across temperatures (Hinton et al. 2015).

    ``teacher_probs`` are sigma(z_T / tau), already mixed like the inputs (see TeacherBatch).
    """
    return bce_with_logits(student_logits / tau, teacher_probs, class_mask) * tau**2


def consistency_mse(
    student_logits: torch.Tensor, mean_logits: torch.Tensor, class_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean-teacher consistency: MSE between the student's and the mean student's probabilities."""
    diff = (torch.sigmoid(student_logits) - torch.sigmoid(mean_logits.detach())) ** 2
    return masked_mean(diff, class_mask)


def distribution_kl(target: torch.Tensor, log_pred: torch.Tensor) -> torch.Tensor:
    """KL(target || pred) over the last dim, averaged over the batch; target is a distribution."""
    return F.kl_div(log_pred, target, reduction="batchmean")


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos(a_t, b_t) over every frame."""
    return (1.0 - F.cosine_similarity(a, b, dim=-1)).mean()


def exp_rampup(step: int, length: int) -> float:
    """exp(-5 (1 - t)^2), the ramp-up of the DCASE baseline (Laine & Aila 2017)."""
    if length <= 0:
        return 1.0
    t = min(max(step, 0), length) / length
    return float(math.exp(-5.0 * (1.0 - t) ** 2))


def kd_frame_and_clip(
    student_out, frame_probs: torch.Tensor, clip_probs: torch.Tensor, tau: float,
    class_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """KD at frame and clip level on every clip of the batch (strong, weak and unlabeled)."""
    return kd_bce(student_out.frame_logits.float(), frame_probs, tau, class_mask) + kd_bce(
        student_out.clip_logits.float(), clip_probs, tau, class_mask
    )


def kd_to_teacher(student_out, teacher, tau: float, class_mask: torch.Tensor | None = None) -> torch.Tensor:
    """KD(S, T) at frame and clip level to one teacher's cached outputs (a TeacherBatch)."""
    return kd_frame_and_clip(student_out, teacher.frame_probs(tau), teacher.clip_probs(tau), tau, class_mask)


def temporal_average_forward(
    student: torch.nn.Module, mean_student: torch.nn.Module, factor: float, features: torch.Tensor
):
    """Forward pass of the mean student *as a function of the student's weights*:
    theta_bar = a * stopgrad(theta_M) + (1 - a) * theta_S, the EMA step itself. A loss on its output
    reaches the student only through the temporal average, scaled by (1 - a).

    The mean student's buffers (batch-norm statistics) are used, as in its own forward pass, but as
    copies: in train mode batch norm updates the buffers it is given, and the mean student's own
    forward of the step (the engine's) has already updated them once. Running this extra pass on the
    real buffers would update the deployed network's statistics twice per step
    (``num_batches_tracked`` 0 -> 2), which the formula does not do.
    """
    mean_params = dict(mean_student.named_parameters())
    params = {
        name: factor * mean_params[name].detach() + (1.0 - factor) * p
        for name, p in student.named_parameters()
    }
    buffers = {name: b.clone() for name, b in mean_student.named_buffers()}
    return torch.func.functional_call(student, (params, buffers), (features,))
