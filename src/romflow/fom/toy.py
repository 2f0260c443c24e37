"""Multiscale oscillating toy problem, mLaSDI paper eq. (21).

    f(x, t; A) = A [sin(2x - t) + 0.1 cos((40x + 2t) sin t)] exp(-x^2)

sampled on ``nx`` points of [x_min, x_max] and ``nt`` times of [0, t_end]
(the paper: 600 points on [-3, 3], 201 times on [0, 2 pi]).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from romflow import io
from romflow.errors import ConfigError

__all__ = ["EQUATION", "field", "low_frequency", "solve"]

EQUATION = "f(x,t;A) = A [sin(2x - t) + 0.1 cos((40x + 2t) sin t)] exp(-x^2)"


def low_frequency(x, t, A):
    """The smooth part A sin(2x - t) exp(-x^2); shapes broadcast."""
    return A * np.sin(2 * x - t) * np.exp(-x**2)


def field(x, t, A):
    """Eq. (21) of the mLaSDI paper; ``x``, ``t``, ``A`` broadcast against each other."""
    return A * (np.sin(2 * x - t) + 0.1 * np.cos((40 * x + 2 * t) * np.sin(t))) * np.exp(-x**2)


def _check(nx, nt, x_min, x_max, t_end, A):
    if int(nx) < 2 or int(nt) < 2:
        raise ConfigError(f"toy grid nx={nx}, nt={nt} is invalid; allowed: integers >= 2")
    if not x_max > x_min:
        raise ConfigError(f"toy x range [{x_min}, {x_max}] is empty; allowed: x_min < x_max")
    if not t_end > 0:
        raise ConfigError(f"toy t_end = {t_end} is invalid; allowed: a number > 0")
    if not np.all(np.isfinite(A)):
        raise ConfigError(f"toy amplitudes A = {list(A)} must be finite")


def solve(A_train, A_test=(), *, nx=600, nt=201, x_min=-3.0, x_max=3.0,
          t_end=2 * np.pi, config=None) -> xr.Dataset:
    """Sample eq. (21) for every amplitude; returns a 'fom' dataset.

    Returns
    -------
    xarray.Dataset
        ``u : (param, time, x)`` float32, coords ``A`` and ``split`` on ``param``.
    """
    A = np.concatenate([np.asarray(A_train, float), np.asarray(A_test, float)])
    _check(nx, nt, x_min, x_max, t_end, A)
    split = np.array(["train"] * len(A_train) + ["test"] * len(A_test))
    x = np.linspace(x_min, x_max, int(nx))
    t = np.linspace(0.0, t_end, int(nt))
    u = field(x[None, None, :], t[None, :, None], A[:, None, None]).astype(np.float32)
    ds = xr.Dataset(
        {"u": io.variable((io.PARAM, io.TIME, "x"), u, units="1",
                          long_name="toy field f(x,t;A)")},
        coords={
            "A": (io.PARAM, A, {"units": "1", "long_name": "amplitude A"}),
            io.SPLIT: (io.PARAM, split, {"long_name": "train or test"}),
            io.TIME: (io.TIME, t, {"units": "1", "long_name": "time"}),
            "x": ("x", x, {"units": "1", "long_name": "space"}),
        },
        attrs=io.provenance("fom", "toy", equation=EQUATION, solver="analytic",
                            scheme="closed-form evaluation", config=config,
                            parameters="A"),
    )
    return ds
