"""The paper's sampling defaults, importable without torch (the CLI shows them in --help)."""

# text -> grid: 25 steps at guidance 3.5; Image2Layers: 20 steps at guidance 1.0.
DEFAULT_STEPS = {"text": 25, "image": 20}
DEFAULT_GUIDANCE = {"text": 3.5, "image": 1.0}
