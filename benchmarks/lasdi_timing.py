"""Timing helpers shared by the mLaSDI benchmarks (imported by the scripts beside it)."""

from __future__ import annotations

import dataclasses
import time

import torch

from romflow.lasdi import fit_stage, fit_stage1
from romflow.model_specs import Monitor

__all__ = ["best_of", "with_iterations", "stage1_seconds_per_iteration",
           "stage_seconds_per_iteration"]

QUIET = Monitor(checkpoint_every=10**9, log_every=0)


def best_of(fn, repeats: int):
    """``(min seconds over repeats, last result)`` of ``fn()`` (CUDA synchronized)."""
    times, out = [], None
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times), out


def with_iterations(spec, n: int):
    """``spec`` with every stage cut to ``n`` iterations."""
    stages = tuple(dataclasses.replace(s, iterations=n) for s in spec.stages)
    return dataclasses.replace(spec, stages=stages)


def stage1_seconds_per_iteration(fom, spec, n: int, *, device="cpu", repeats: int = 3):
    """(T(2n) - T(n)) / n of :func:`fit_stage1`, so set-up and final costs cancel; also
    returns the 2n-iteration fit ``(state, train_state, latent, loss)``."""
    kw = dict(device=device, monitor=QUIET, log=lambda *_: None)
    t1, _ = best_of(lambda: fit_stage1(fom, with_iterations(spec, n), **kw), repeats)
    t2, fit = best_of(lambda: fit_stage1(fom, with_iterations(spec, 2 * n), **kw), repeats)
    return (t2 - t1) / n, fit


def stage_seconds_per_iteration(k, fom, latent, previous, stage, n: int, *, device="cpu",
                                repeats: int = 3):
    """The same for :func:`fit_stage` (stage ``k`` >= 2); also returns the 2n fit."""
    kw = dict(device=device, monitor=QUIET, log=lambda *_: None)
    t1, _ = best_of(lambda: fit_stage(k, fom, latent, previous,
                                      dataclasses.replace(stage, iterations=n), **kw), repeats)
    t2, fit = best_of(lambda: fit_stage(k, fom, latent, previous,
                                        dataclasses.replace(stage, iterations=2 * n), **kw),
                      repeats)
    return (t2 - t1) / n, fit
