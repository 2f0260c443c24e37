"""The jet channel of the hybrid paper (appendix B.2): data and exact replay."""

import numpy as np
import pytest
import torch

from romflow import io
from romflow.errors import ConfigError
from romflow.fom import channel
from romflow.fom.incompressible import apply_bc, divergence, step


def test_dataset_contract_and_inflow():
    """solve() writes a valid 'pairs' file; the packed state rebuilds the inflow face
    with the jet profile, and the wall faces with v = 0."""
    ds = channel.solve(200, 32, 8, trajectories=2, steps=20, warmup=5)
    io.validate(ds, "pairs")
    assert ds["u"].shape == (2, 21, 2, 32, 8) and ds["unresolved"].shape == (2, 21, 32, 8)
    assert list(ds["component"].values) == list(channel.COMPONENTS)
    y0 = ds["y0"].values
    assert ((0.3 <= y0) & (y0 <= 0.7)).all() and y0[0] != y0[1]
    fl = channel.flow(200, y0, 32, 8)
    state = torch.as_tensor(ds["u"].values[:, 3], dtype=torch.float64)
    u, v = channel.unpack(fl, state, float(ds["time"].values[3]))
    prof = np.exp(-50 * (ds["yc"].values[None] - y0[:, None]) ** 2)
    assert np.allclose(u[:, 0, 1:-1].numpy(), prof, atol=1e-6)
    assert float(v[:, 1:-1, 0].abs().max()) == 0.0                 # south wall
    assert float(state[:, 1, :, -1].abs().max()) < 1e-12            # north wall, stored


def _full_fields(fl, dt, k):
    """The staggered fields with ghosts at step k of a channel run, from the solver."""
    g = fl.grid
    u = torch.zeros(2, g.nx + 1, g.ny + 2, dtype=torch.float64)
    v = torch.zeros(2, g.nx + 2, g.ny + 1, dtype=torch.float64)
    apply_bc(fl, u, v, 0.0)
    t = 0.0
    for _ in range(k):
        u, v, _ = step(fl, u, v, t, dt)
        t += dt
    return u, v, t


def test_unpack_rebuilds_the_solver_fields_ghosts_included():
    """pack loses nothing: unpack(pack(faces), t) gives back the solver's own u and v
    with every boundary face and ghost, to round-off."""
    fl = channel.flow(300.0, [0.35, 0.6], 32, 8)
    u, v, t = _full_fields(fl, 1e-3, 30)
    uu, vv = channel.unpack(fl, channel.pack(u[:, :, 1:-1], v[:, 1:-1]), t)
    assert torch.allclose(uu, u, atol=1e-13, rtol=0) and torch.allclose(vv, v, atol=1e-13, rtol=0)


def test_replay_with_stored_pressure_reproduces_the_trajectory():
    """The resolved step with the stored p_k as a 'learned' pressure gives u_{k+1}:
    the pairs hold everything a hybrid rollout needs (to float32 storage)."""
    re, dt, warm = 300.0, 1e-3, 5
    ds = channel.solve(re, 32, 8, trajectories=2, steps=10, warmup=warm, dt=dt)
    fl = channel.flow(re, ds["y0"].values, 32, 8)
    k = 4
    t = float(ds["time"].values[k])
    u, v = channel.unpack(fl, torch.as_tensor(ds["u"].values[:, k], dtype=torch.float64), t)
    p_k = torch.as_tensor(ds["unresolved"].values[:, k], dtype=torch.float64)
    un, vn, _ = step(fl, u, v, t, dt, pressure=lambda *_: p_k)
    nxt = channel.pack(un[:, :, 1:-1], vn[:, 1:-1]).numpy()
    assert np.allclose(nxt, ds["u"].values[:, k + 1], atol=1e-5)
    assert float(divergence(fl, un, vn).abs().max()) < 1e-3


def test_mass_balance_and_divergence():
    """Discrete incompressibility: after the impulsive start (step 0, fluid at rest
    with the jet switched on), the flux through the outflow equals the inflow flux."""
    fl = channel.flow(100.0, [0.4, 0.6], 32, 8)
    u, v, p = channel.simulate(fl, 50, 1e-3)
    flux_in, flux_out = u[:, 1:, 0].sum(-1), u[:, 1:, -1].sum(-1)
    assert torch.allclose(flux_in, flux_out, atol=1e-10), (flux_in - flux_out).abs().max()
    assert float(flux_in.min()) > 0.1


@pytest.mark.parametrize("kwargs, match", [
    ({"dt": 0.01, "reynolds": 500}, "stability bound"), ({"steps": 0}, "steps=0"),
    ({"reynolds": -1.0}, "Reynolds number -1.0")])
def test_bad_input(kwargs, match):
    args = {"reynolds": 100.0, "nx": 16, "ny": 4, "trajectories": 1, "steps": 2} | kwargs
    with pytest.raises(ConfigError, match=match):
        channel.solve(**args)
