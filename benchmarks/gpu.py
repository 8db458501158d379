"""What the GPU benchmarks share: the skip without CUDA, timed runs with peak memory, transformer FLOPs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def cuda_or_skip(name: str, smoke: bool) -> bool:
    """True if the benchmark should run: on CUDA, or on the CPU when `--smoke` asks for a script check."""
    import torch

    if smoke or torch.cuda.is_available():
        return True
    print(
        f"{name}: skipped: no CUDA device here. It needs one GPU with >= 40 GiB (FLUX.1-dev shapes, random bf16 "
        "weights, nothing downloaded); `--smoke` checks the script on CPU."
    )
    return False


def timed(run: Callable[[], None], repeats: int, warmups: int = 1) -> tuple[float, float]:
    """Median seconds of `run` over `repeats` calls after warm-ups, and peak GPU memory (GiB) over them."""
    import torch

    cuda = torch.cuda.is_available()
    for _ in range(warmups):  # kernels, allocator, compilation, optimizer state
        run()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return statistics.median(times), peak


def forward_flops(transformer, tokens: int) -> float:
    """One Flux transformer forward: dense matmuls (2 x params x tokens) plus attention (4 x tokens^2 x width
    per block)."""
    params = sum(p.numel() for p in transformer.parameters())
    config = transformer.config
    width = config.num_attention_heads * config.attention_head_dim
    blocks = config.num_layers + config.num_single_layers
    return 2.0 * params * tokens + 4.0 * blocks * tokens**2 * width
