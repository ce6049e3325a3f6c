"""The DESED event classes and the environments of desed-synth."""

CLASSES: tuple[str, ...] = (
    "Alarm_bell_ringing",
    "Blender",
    "Cat",
    "Dishes",
    "Dog",
    "Electric_shaver_toothbrush",
    "Frying",
    "Running_water",
    "Speech",
    "Vacuum_cleaner",
)

# Each environment has its own event subset (and, in the generator, its own class prior and
# background). Environment-aware KD trains one student per environment on its subset.
ENVIRONMENTS: dict[str, tuple[str, ...]] = {
    "kitchen": ("Alarm_bell_ringing", "Blender", "Dishes", "Frying", "Running_water", "Speech"),
    "bathroom": ("Electric_shaver_toothbrush", "Running_water", "Speech"),
    "living_room": ("Alarm_bell_ringing", "Cat", "Dog", "Speech", "Vacuum_cleaner"),
}

SPLITS: tuple[str, ...] = ("train_strong", "train_weak", "train_unlabeled", "validation", "eval")
# Which label file each split's kind needs; splits not listed here are ignored.
SPLIT_KINDS: dict[str, str] = {
    "train_strong": "strong", "train_weak": "weak", "train_unlabeled": "unlabeled",
    "validation": "strong", "eval": "strong",
}
