"""The jet channel of the hybrid paper (appendix B.2): data and exact replay."""

import numpy as np
import pytest
import torch

from romflow import io
from romflow.errors import ConfigError
from romflow.fom import channel
from romflow.fom.incompressible import apply_bc, divergence, step


def test_dataset_contract_and_inflow():
    """solve() writes a valid 'pairs' file; the inflow face carries the jet profile."""
    ds = channel.solve(200, 32, 8, trajectories=2, steps=20, warmup=5)
    io.validate(ds, "pairs")
    assert ds["u"].shape == (2, 21, 33, 8) and ds["unresolved"].shape == (2, 21, 32, 8)
    y0 = ds["y0"].values
    assert ((0.3 <= y0) & (y0 <= 0.7)).all() and y0[0] != y0[1]
    prof = np.exp(-50 * (ds["yc"].values[None] - y0[:, None]) ** 2)
    assert np.allclose(ds["u"].values[:, 3, 0], prof, atol=1e-6)


def test_replay_with_stored_pressure_reproduces_the_trajectory():
    """The resolved step with the stored p_k as a 'learned' pressure gives u_{k+1}:
    the pairs hold everything a hybrid rollout needs (to float32 storage)."""
    re, dt, warm = 300.0, 1e-3, 5
    ds = channel.solve(re, 32, 8, trajectories=2, steps=10, warmup=warm, dt=dt)
    fl = channel.flow(re, ds["y0"].values, 32, 8)
    g = fl.grid
    k = 4
    u = torch.zeros(2, g.nx + 1, g.ny + 2, dtype=torch.float64)
    v = torch.zeros(2, g.nx + 2, g.ny + 1, dtype=torch.float64)
    u[:, :, 1:-1] = torch.as_tensor(ds["u"].values[:, k], dtype=torch.float64)
    v[:, 1:-1] = torch.as_tensor(ds["v"].values[:, k], dtype=torch.float64)
    t = float(ds["time"].values[k])
    apply_bc(fl, u, v, t, normal=False)
    p_k = torch.as_tensor(ds["unresolved"].values[:, k], dtype=torch.float64)
    un, vn, _ = step(fl, u, v, t, dt, pressure=lambda *_: p_k)
    assert np.allclose(un[:, :, 1:-1].numpy(), ds["u"].values[:, k + 1], atol=1e-5)
    assert np.allclose(vn[:, 1:-1].numpy(), ds["v"].values[:, k + 1], atol=1e-5)
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
