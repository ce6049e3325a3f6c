"""Training: the engine (DCASE mean-teacher recipe with method hooks), losses, EMA and mixup."""
