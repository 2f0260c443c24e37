"""Error metrics.

mLaSDI paper eq. (25): the error of a prediction for parameter mu is the
maximum over time of the relative l2 error of the state,

    e(mu) = max_n ||u(t_n; mu) - u~(t_n; mu)||_2 / ||u(t_n; mu)||_2 .
"""

from __future__ import annotations

import numpy as np

__all__ = ["relative_error", "max_relative_error"]


def relative_error(u, u_pred, time_axis: int = 1):
    """||u - u~|| / ||u|| over all axes after ``time_axis``: ``(..., time)``.

    ``u : (param, time, *space)``; ``u_pred`` broadcasts against ``u`` (it may
    carry leading axes, e.g. ``(stage, param, time, *space)``).  A state with
    zero norm gives the absolute error instead of a division by zero.
    """
    u = np.asarray(u, dtype=np.float64)
    diff = np.asarray(u_pred, dtype=np.float64) - u
    space = tuple(range(time_axis + 1, u.ndim))
    shift = diff.ndim - u.ndim
    num = np.sqrt(np.sum(diff**2, axis=tuple(a + shift for a in space)))
    den = np.sqrt(np.sum(u**2, axis=space))
    return num / np.where(den > 0, den, 1.0)


def max_relative_error(u, u_pred, time_axis: int = 1):
    """Eq. (25): the maximum over time of :func:`relative_error`; NaN counts as inf."""
    err = relative_error(u, u_pred, time_axis)
    return np.where(np.isnan(err), np.inf, err).max(axis=-1)
