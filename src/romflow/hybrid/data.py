"""Access to a hybrid pairs file: training steps, states as tensors, coordinates.

A 'pairs' dataset (:mod:`romflow.fom.reaction_diffusion`, :mod:`romflow.fom.channel`)
holds ``u`` and ``unresolved`` over ``(trajectory, step, <state dims>)``; these
helpers turn a selection of it into tensors in trajectory-major order and give
back the (trajectory, step) of each sample for steps that depend on them.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.errors import DataError

__all__ = ["training_steps", "states", "where", "channels", "space_coords", "case_attrs"]


def training_steps(pairs: xr.Dataset, every: int) -> np.ndarray:
    """Steps with a defined unresolved part (finite in every trajectory), every ``every``-th."""
    finite = np.isfinite(pairs["unresolved"].values).reshape(
        pairs.sizes[io.TRAJECTORY], pairs.sizes[io.STEP], -1).all(axis=(0, 2))
    steps = np.flatnonzero(finite)[::int(every)]
    if steps.size == 0:
        raise DataError("pairs: no step has a finite unresolved part")
    return steps


def states(pairs, name, trajectories, steps) -> torch.Tensor:
    """Fields of ``name`` at every (trajectory, step), trajectory-major: ``(N, C, H, W)``,
    C = 1 for a field without a ``component`` dimension (the channel's pressure)."""
    var = pairs[name].isel({io.TRAJECTORY: list(trajectories), io.STEP: list(steps)})
    out = torch.from_numpy(np.ascontiguousarray(io.finite_values(var))).flatten(0, 1).float()
    return out if "component" in var.dims else out.unsqueeze(1)


def where(trajectories, steps):
    """(trajectory ids, step ids) of the samples of :func:`states`, for the resolved step."""
    traj, st = np.meshgrid(np.asarray(list(trajectories)), np.asarray(list(steps)),
                           indexing="ij")
    return traj.reshape(-1), st.reshape(-1)


def channels(pairs, name) -> int:
    return int(pairs[name].sizes.get("component", 1))


def space_coords(pairs) -> dict:
    """Coordinates of the per-state dimensions (component, y, x, ...) of a pairs file."""
    return {d: pairs[d].values for d in pairs["u"].dims[2:] if d in pairs.coords}


def case_attrs(pairs) -> dict:
    """The sweep values a pairs file names (grid, gamma, ...), as plain Python values."""
    keys = ("grid", "gamma", "reynolds", "nx", "ny", "unresolved", "dt")
    return {k: np.asarray(pairs.attrs[k]).item() for k in keys if k in pairs.attrs}
