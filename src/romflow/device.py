"""Device choice, thread count and seeding for reproducible runs."""

from __future__ import annotations

import random

import numpy as np

from romflow.errors import ConfigError

__all__ = ["resolve_device", "set_threads", "seed_everything"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto"):
    """``torch.device`` for ``name`` in {auto, cpu, cuda}; auto picks cuda when present."""
    import torch

    if name not in DEVICES:
        raise ConfigError(f"device = {name!r} is invalid; allowed: one of {list(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but torch sees no CUDA device; set device: cpu "
                          "or auto")
    return torch.device(name)


def set_threads(n: int) -> None:
    """Limit torch's and the BLAS/OpenMP pools' threads to ``n`` (a rule's ``threads``).

    SciPy and NumPy use their own BLAS pools; left unlimited they oversubscribe
    the cores that Snakemake gave other jobs.
    """
    import torch
    from threadpoolctl import threadpool_limits

    n = max(1, int(n))
    torch.set_num_threads(n)
    threadpool_limits(n)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; make torch pick deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
