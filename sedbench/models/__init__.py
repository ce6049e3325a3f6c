"""Model registry: ``build_model(name, n_mels, n_classes, **kwargs)``.

Every model maps a log-mel batch (B, n_mels, T) to a ``ModelOutput`` at T // 4 frames:
``frame_logits`` (B, T', C), ``clip_logits`` (B, C) and ``features`` with at least ``cnn``
(B, T', D_cnn) and ``context`` (B, T', D). Registered: crnn (DCASE 2023 baseline), the students
crnn-small and se-crnn, and the teachers crnn-large, transformer and cnn.
"""

# The model modules are imported for their @register_model side effect.
from sedbench.models import cnn, crnn, transformer  # noqa: F401
from sedbench.models.base import ModelOutput, build_model, freq_pools, model_names, register_model

__all__ = ["ModelOutput", "build_model", "freq_pools", "model_names", "register_model"]
