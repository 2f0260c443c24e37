"""Verification of the cylinder wake (romflow.fom.wake) against published values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from romflow import io
from romflow.errors import ConfigError
from romflow.fom import wake
from romflow.fom.incompressible import divergence, step_ssprk3


def probe_run(reynolds, nx, t_end):
    """Cross-stream velocity at (0.5, 1.0), 5 diameters behind the cylinder."""
    nu = wake.DIAMETER * wake.SPEED / reynolds
    fl = wake.flow([nu], nx, 2 * nx)
    u, v = wake.initial_state(fl)
    h = fl.grid.dx
    dt = min(0.4 * h / 1.5, 0.2 * h * h / nu)
    i, j = int(0.5 / fl.grid.dx), int(1.0 / fl.grid.dy)
    t, probe = 0.0, []
    for _ in range(int(t_end / dt)):
        u, v, _ = step_ssprk3(fl, u, v, t, dt)
        t += dt
        probe.append(float(u[0, i, j + 1]))
    return np.array(probe), dt, fl, u, v


# Williamson (1996), Annu. Rev. Fluid Mech. 28, 477-539, unconfined cylinder:
# St = 0.164 at Re = 100 and 0.197 at Re = 200.  Our domain is 10 diameters wide
# (blockage D/W = 10 %), which raises St by a few per cent.
@pytest.mark.slow
@pytest.mark.parametrize("reynolds, published", [(100, 0.164), (200, 0.197)])
def test_strouhal_number(reynolds, published):
    probe, dt, *_ = probe_run(reynolds, 100, 30.0)
    late = probe[len(probe) // 2:]
    st = wake.strouhal(late, dt)
    assert late.std() > 0.05, f"no shedding: probe std {late.std():.3g}"
    assert abs(st / published - 1) < 0.10, \
        f"Re = {reynolds}: St = {st:.4f}, published {published} (within 10 %)"


def test_strouhal_of_a_sine():
    """The St estimator recovers the frequency of a pure tone: f D / U."""
    dt, f = 0.01, 1.7
    t = np.arange(0, 20, dt)
    assert abs(wake.strouhal(np.sin(2 * np.pi * f * t + 0.3), dt) - f * wake.DIAMETER) < 1e-3
    with pytest.raises(ValueError, match="no shedding"):
        wake.strouhal(np.ones(100), dt)


def test_short_run_is_divergence_free_and_stops_in_the_cylinder():
    """A short spin-up: the projected velocity is divergence-free; inside the body
    the streamwise velocity is a few per cent of the inflow and falls with
    refinement (penalization + projection leaks at first order near the surface)."""
    leak = []
    for nx in (50, 100):
        _, _, fl, u, v = probe_run(100, nx, 0.3)
        assert float(divergence(fl, u, v).abs().max()) < 1e-10
        leak.append(float(v[0, 1:-1][fl.solid[1] > 0].abs().mean()))
    assert leak[1] < 0.05 and leak[1] < 0.6 * leak[0], f"mean |v| in the body: {leak}"


def test_solve_writes_a_fom_dataset():
    """solve() at a tiny size: 'fom' contract, ~points, split and nu coords."""
    ds = wake.solve([0.004], [0.005], nx=20, ny=40, spinup=0.05, duration=0.02, snapshots=3,
                    points=(6, 11))
    io.validate(ds, "fom")
    assert ds["u"].dims == ("param", "time", "point") and ds["u"].shape == (2, 3, 66)
    assert list(ds["split"].values) == ["train", "test"]
    assert np.isfinite(ds["u"].values).all() and float(ds["u"].max()) > 0.5
    assert "not the paper's PyMFEM" in ds.attrs["solver"]


def test_sample_is_exact_for_linear_fields():
    """Bilinear sampling reproduces a field linear in x and y."""
    fl = wake.flow([0.01], 20, 40)
    g = fl.grid
    u = torch.zeros(1, g.nx + 1, g.ny + 2, dtype=torch.float64)
    v = torch.zeros(1, g.nx + 2, g.ny + 1, dtype=torch.float64)
    v[0, 1:-1] = torch.as_tensor(1 + g.xc()[:, None] + 0.5 * g.yf()[None, :])
    mag, px, py = wake.sample(fl, u, v, (7, 9))
    exact = 1 + px[:, None] + 0.5 * py[None, :]
    assert np.allclose(mag[0].numpy().reshape(7, 9), exact, atol=1e-12)


def test_bad_input():
    with pytest.raises(ConfigError, match="viscosities"):
        wake.solve([-1.0])
    with pytest.raises(ConfigError, match="snapshots=1"):
        wake.solve([0.001], snapshots=1)
