"""Stopping times of hybrid rollouts (the hybrid paper's Table 2), with censoring.

The paper compares estimators on the channel by the stopping time t_K: how many
steps a rollout stays within a threshold K of the reference.  It states the
threshold two ways, and both are offered (``criterion``):

- ``relative``: ||û_t − u_t||₂ / ||u_t||₂ ≤ K (section 4.2's text, "K to be
  determined during the experiments");
- ``absolute``: ||û_t − u_t||₂ ≤ K with K = 100 (its appendix B.2, the only
  reading with a stated K).

t_K is the first step whose error exceeds K (a blow-up, +inf, exceeds every K),
so steps 0 … t_K − 1 stayed within it.  A rollout that never exceeds K within its
horizon of n steps is *censored*: its stopping time is only known to be ≥ n.
:func:`summarize` never averages a censored rollout as if it had stopped there;
it reports the mean and spread of the rollouts that stopped, how many were
censored, and (with any censored) the lower bound of the mean that counting
them at the horizon gives, marked "≥".  Survival analysis would estimate the
censored tail (Kaplan–Meier); with ten rollouts per cell we show the counts.
"""

from __future__ import annotations

import math

import numpy as np

from romflow.errors import ConfigError

__all__ = ["CRITERIA", "stopping_times", "summarize", "format_summary"]

#: criterion -> the rollout file's error variable it thresholds
CRITERIA = {"relative": "rel_error", "absolute": "abs_error"}


def stopping_times(errors, K: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Stopping times of rollouts: ``errors`` is (rollouts, steps) of one criterion.

    Returns ``(t, censored, horizon)``: ``t[i]`` is the first step with error > K
    (non-finite counts as > K), or ``horizon`` (the number of steps) where the
    rollout never exceeded it, and then ``censored[i]`` is True.
    """
    if not (isinstance(K, (int, float)) and math.isfinite(K) and K > 0):
        raise ConfigError(f"stopping threshold K = {K!r} is invalid; allowed: a finite "
                          "number > 0")
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 2 or e.shape[1] < 1:
        raise ValueError(f"errors must be (rollouts, steps) with steps >= 1, got {e.shape}")
    over = ~(e <= K)                      # NaN and +inf are over every K
    horizon = int(e.shape[1])
    censored = ~over.any(axis=1)
    t = np.where(censored, horizon, over.argmax(axis=1)).astype(np.int64)
    return t, censored, horizon


def summarize(t, censored, horizon: int) -> dict:
    """Table 2 cell of some rollouts' stopping times (see the module docstring).

    ``mean`` / ``std`` are over the rollouts that stopped (NaN if none did);
    ``lower_bound`` is the mean with each censored rollout counted at the horizon
    (equal to ``mean`` when none is censored): the true mean is at least this.
    """
    t = np.asarray(t, dtype=np.float64)
    censored = np.asarray(censored, dtype=bool)
    stopped = t[~censored]
    return {"rollouts": int(t.size), "stopped": int(stopped.size),
            "censored": int(censored.sum()), "horizon": int(horizon),
            "mean": float(stopped.mean()) if stopped.size else math.nan,
            "std": float(stopped.std()) if stopped.size else math.nan,
            "lower_bound": float(np.where(censored, horizon, t).mean()) if t.size
            else math.nan}


def format_summary(s: dict) -> str:
    """'435 ± 15' when every rollout stopped; '≥ 480 (3/10 censored)' otherwise,
    '≥ 1000 (10/10 censored)' when none stopped within the horizon."""
    if not s["rollouts"]:
        return "--"
    if s["censored"]:
        return f"≥ {s['lower_bound']:.0f} ({s['censored']}/{s['rollouts']} censored)"
    if s["stopped"] > 1:
        return f"{s['mean']:.0f} ± {s['std']:.0f}"
    return f"{s['mean']:.0f}"
