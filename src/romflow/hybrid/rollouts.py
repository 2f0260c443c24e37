"""The rollout files of a hybrid case: the learned closure in the resolved step.

The hybrid model is rolled out from the first state of every test trajectory
of a split for its full length (:func:`romflow.hybrid.simulate.rollout`); the
'rollout' file holds the errors and the distribution shift per step, the
blow-up step and snapshots beside the reference.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from romflow import io
from romflow.hybrid import data
from romflow.hybrid.manifold import distance
from romflow.hybrid.simulate import resolved_step, rollout

__all__ = ["rollout_config", "simulate_split"]


def rollout_config(rollout_cfg: dict, closure_state: dict, manifold_state: dict) -> dict:
    """What a rollout file's config digest covers: its own settings and the digests
    of the closure and autoencoder it runs, which cover their training settings and,
    through the normals and pairs, everything upstream.  Two Table 1 runs that
    differ only in λ thus carry different digests."""
    return {"rollout": dict(rollout_cfg),
            "closure": closure_state.get("config_digest", "unrecorded"),
            "manifold": manifold_state.get("config_digest", "unrecorded")}


def simulate_split(pairs: xr.Dataset, closure, autoencoder, test_ids, *, problem: str,
                   estimator: str, split: int, cap: float, snapshot_every: int,
                   config=None, log=print, resolved: str = "crank_nicolson",
                   nudge: float = 0.0, attrs=None) -> xr.Dataset:
    """Hybrid rollouts from the first state of every test trajectory ('rollout' file).

    Per step: relative error ||û_k - u_k|| / ||u_k||, absolute error ||û_k - u_k||,
    and distribution shift F(û_k); the blow-up step (-1: none; the error is +inf and the shift NaN from there
    on); states every ``snapshot_every`` steps (NaN after a blow-up).  ``attrs``
    (the estimator's settings, the protocol, the report's metric) go into the
    file's attributes; ``nudge`` (:func:`romflow.hybrid.simulate.rollout`).
    """
    step = resolved_step(problem, pairs, resolved)
    dist = lambda x: distance(autoencoder, x.float()).double()  # noqa: E731
    clos = lambda x: closure(x.float()).double()  # noqa: E731
    n_steps = pairs.sizes[io.STEP]
    snaps = np.arange(0, n_steps, int(snapshot_every))
    if snaps[-1] != n_steps - 1:
        snaps = np.append(snaps, n_steps - 1)
    err, abs_err, shift, blow, states = [], [], [], [], []
    for t in test_ids:
        ref = torch.from_numpy(io.finite_values(pairs["u"].isel({io.TRAJECTORY: t}))).double()
        with torch.no_grad():
            out = rollout(step, clos, ref, trajectory=t, distance=dist, cap=cap, nudge=nudge,
                          progress=lambda k, n, t=t: k % 200 == 0 and log(
                              f"{estimator} split {split} trajectory {t}: step {k} of {n}"))
        err.append(out["rel_error"].numpy())
        abs_err.append(out["abs_error"].numpy())
        shift.append(out["shift"].numpy())
        blow.append(out["blowup_step"])
        snap = np.full((len(snaps),) + tuple(ref.shape[1:]), np.nan, dtype=np.float32)
        ok = snaps < out["states"].shape[0]
        snap[ok] = out["states"][snaps[ok]].numpy()
        states.append(snap)
        log(f"{estimator} split {split} trajectory {t}: error at the last step "
            f"{err[-1][-1]:.3e}, blow-up step {blow[-1]}")
    dims = pairs["u"].dims[2:]
    coords = {io.TRAJECTORY: np.asarray(test_ids), io.STEP: pairs[io.STEP].values,
              "snapshot": snaps, **data.space_coords(pairs)}
    after = "after blowup_step (the rollout stopped there)"
    return xr.Dataset(
        {"rel_error": io.variable((io.TRAJECTORY, io.STEP), np.stack(err), units="1",
                                  long_name="relative error |u_hat - u| / |u|",
                                  nonfinite_means=f"+inf {after}"),
         "abs_error": io.variable((io.TRAJECTORY, io.STEP), np.stack(abs_err), units="1",
                                  long_name="absolute error |u_hat - u|_2",
                                  nonfinite_means=f"+inf {after}"),
         "shift": io.variable((io.TRAJECTORY, io.STEP), np.stack(shift), units="1",
                              long_name="distribution shift F(u_hat)",
                              nonfinite_means=f"NaN {after}"),
         "blowup_step": io.variable((io.TRAJECTORY,), np.asarray(blow, dtype=np.int64),
                                    units="1", long_name="first step that blew up (-1: none)"),
         "states": io.variable((io.TRAJECTORY, "snapshot") + tuple(dims), np.stack(states),
                               units="1", long_name="hybrid rollout states at snapshots",
                               nonfinite_means=f"NaN {after}"),
         "reference": io.variable(
             (io.TRAJECTORY, "snapshot") + tuple(dims),
             pairs["u"].isel({io.TRAJECTORY: list(test_ids), io.STEP: snaps}).values,
             units="1", long_name="reference states at snapshots")},
        coords=coords,
        attrs=io.provenance("rollout", problem, equation=pairs.attrs.get("equation", ""),
                            solver="romflow.hybrid.simulate.rollout",
                            scheme=f"resolved step + learned {estimator} closure",
                            config=config, estimator=estimator, split=int(split),
                            cap=float(cap), nudge=float(nudge), resolved_step=resolved,
                            **data.case_attrs(pairs), **(attrs or {})))
