"""Linear toy system of the hybrid-simulation paper, appendix A.2, eq. (59).

    u_{n+1} = (A + B C) u_n = F u_n,   F = diag(0.95, 1.2),   B = I,

so the resolved part is A = F - C and the unresolved part is y = C u.  Each
random draw has its own C (entries i.i.d. U[0, 1]); initial states are
u_0 = (N(0, 1), 0), so every trajectory stays on the stable manifold R × {0},
and the observed unresolved values carry Gaussian noise of scale ``noise``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from romflow import io
from romflow.errors import ConfigError

__all__ = ["EQUATION", "F", "draw_coupling", "solve"]

EQUATION = "u_{n+1} = (A + B C) u_n = F u_n, F = diag(0.95, 1.2), B = I, y = C u"
F = np.diag([0.95, 1.2])


def draw_coupling(seed: int) -> np.ndarray:
    """C with entries i.i.d. U[0, 1] for draw ``seed``: ``(2, 2)``."""
    return np.random.default_rng([int(seed), 1]).uniform(0.0, 1.0, size=(2, 2))


def solve(draw: int, *, trajectories: int = 10, steps: int = 50, noise: float = 1e-3,
          config=None) -> xr.Dataset:
    """Trajectories and noisy unresolved observations for one draw of C.

    Returns a 'pairs' dataset: ``u : (trajectory, step, component)`` exact
    states, ``unresolved : (trajectory, step, component)`` = C u + noise, and
    the matrices ``A``, ``B``, ``C`` and ``F``.
    """
    if int(trajectories) < 1 or int(steps) < 1:
        raise ConfigError(f"linear trajectories = {trajectories}, steps = {steps} invalid; "
                          "allowed: integers >= 1")
    if not noise >= 0:
        raise ConfigError(f"linear noise = {noise} is invalid; allowed: a number >= 0")
    C = draw_coupling(draw)
    rng = np.random.default_rng([int(draw), 2])
    u = np.zeros((int(trajectories), int(steps) + 1, 2))
    u[:, 0, 0] = rng.standard_normal(int(trajectories))
    for n in range(int(steps)):
        u[:, n + 1] = u[:, n] @ F.T
    y = u @ C.T + noise * rng.standard_normal(u.shape)
    mat = ("component", "component_in")
    dims = (io.TRAJECTORY, io.STEP, "component")
    return xr.Dataset(
        {"u": io.variable(dims, u, units="1", long_name="resolved state u_n"),
         "unresolved": io.variable(dims, y, units="1", long_name="observed y_n = C u_n + noise"),
         "A": io.variable(mat, F - C, units="1", long_name="resolved operator A = F - B C"),
         "B": io.variable(mat, np.eye(2), units="1", long_name="coupling B"),
         "C": io.variable(mat, C, units="1", long_name="true unresolved map C*"),
         "F": io.variable(mat, F, units="1", long_name="full dynamics F = A + B C")},
        coords={io.TRAJECTORY: np.arange(int(trajectories)), io.STEP: np.arange(int(steps) + 1),
                "component": [0, 1], "component_in": [0, 1]},
        attrs=io.provenance("pairs", "linear", equation=EQUATION, solver="romflow.fom.linear",
                            scheme="exact matrix powers", config=config, draw=int(draw),
                            noise=noise, unresolved="y = C u",
                            verified_by="tests/numerics/test_linear.py: u_n = F^n u_0 exactly; "
                                        "A u + B C u = F u"))
