"""Verification of romflow.fom.reaction_diffusion against analytic references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from romflow import io
from romflow.errors import ConfigError
from romflow.fom import reaction_diffusion as rd

L = rd.LENGTH


def mode(n, m=2):
    """cos(2π m x / L) on the cell-centred grid, in the u component; v = 0."""
    x = (torch.arange(n, dtype=torch.float64) + 0.5) * L / n
    f = torch.cos(2 * math.pi * m * x / L)[None, :].expand(n, n).clone()
    return torch.stack([f, torch.zeros_like(f)])[None]


def diffuse(u, steps, dt, gamma):
    for _ in range(steps):
        u = rd.cn_step(u, dt, gamma, source=None)
    return u


def rate(e0, e1):
    return math.log2(e0 / e1)


def test_laplacian_symbol_matches_five_point_stencil():
    """The FFT symbol is the periodic 5-point Laplacian: compare with the stencil."""
    n = 16
    g = torch.Generator().manual_seed(1)
    f = torch.randn(n, n, generator=g, dtype=torch.float64)
    h = L / n
    stencil = (f.roll(1, 0) + f.roll(-1, 0) + f.roll(1, 1) + f.roll(-1, 1) - 4 * f) / h**2
    spectral = torch.fft.irfft2(torch.fft.rfft2(f) * rd.laplacian_symbol(n), s=(n, n))
    assert torch.allclose(spectral, stencil, atol=1e-10)


def test_diffusion_second_order_in_time():
    """Crank–Nicolson is 2nd order: against the semi-discrete exact decay exp(λ_h t)."""
    n, gamma, t_end, m = 32, 0.1, 1.0, 2
    lam = gamma * (-4 / (L / n) ** 2) * math.sin(math.pi * m / n) ** 2
    exact = mode(n, m) * math.exp(lam * t_end)
    errs = []
    for steps in (10, 20, 40):
        u = diffuse(mode(n, m), steps, t_end / steps, gamma)
        errs.append(float((u - exact).abs().max()))
    rates = [rate(errs[i], errs[i + 1]) for i in range(2)]
    assert min(rates) > 2 - 0.25, f"expected rate 2, measured {rates}, errors {errs}"


def test_diffusion_second_order_in_space_against_fourier_decay():
    """Exact continuous decay exp(-γ (2πm/L)² t) of a Fourier mode: 2nd order in h."""
    gamma, t_end, m, steps = 0.1, 0.5, 3, 400
    errs = []
    for n in (16, 32, 64):
        u = diffuse(mode(n, m), steps, t_end / steps, gamma)
        exact = mode(n, m) * math.exp(-gamma * (2 * math.pi * m / L) ** 2 * t_end)
        errs.append(float((u - exact).abs().max()))
    rates = [rate(errs[i], errs[i + 1]) for i in range(2)]
    assert min(rates) > 2 - 0.25, f"expected rate 2, measured {rates}, errors {errs}"


def test_second_component_diffuses_twice_as_fast():
    """D = diag(γ, 2γ): the v component decays with 2γ."""
    n, gamma, dt, steps, m = 32, 0.05, 0.01, 100, 2
    u0 = mode(n, m).flip(1)  # the mode in v, zero u
    u = diffuse(u0, steps, dt, gamma)
    lam = 2 * gamma * (-4 / (L / n) ** 2) * math.sin(math.pi * m / n) ** 2
    amp = (1 + 0.5 * dt * lam) / (1 - 0.5 * dt * lam)
    assert torch.allclose(u, u0 * amp**steps, atol=1e-12)


def test_uniform_steady_state_is_preserved():
    """FitzHugh–Nagumo fixed point u = v = α^(1/3) (φ = 0, Δ = 0) stays fixed."""
    c = rd.ALPHA ** (1 / 3)
    u = torch.full((1, 2, 16, 16), c, dtype=torch.float64)
    out = rd.cn_step(u, 0.01, 0.1)
    assert torch.allclose(out, u, atol=1e-14, rtol=0)
    assert float(rd.reaction(u).abs().max()) < 1e-15


def test_restrict_inject():
    """R∘I is the identity on the coarse grid; both preserve the mean."""
    g = torch.Generator().manual_seed(2)
    c = torch.randn(3, 2, 8, 8, generator=g, dtype=torch.float64)
    assert torch.equal(rd.restrict(rd.inject(c)), c)
    f = torch.randn(3, 2, 16, 16, generator=g, dtype=torch.float64)
    assert torch.allclose(rd.restrict(f).mean(dim=(-2, -1)), f.mean(dim=(-2, -1)))
    assert rd.inject(c).shape == (3, 2, 16, 16)


def test_correction_identity_reproduces_fine_trajectory():
    """Hybrid rollout u_{k+1} = I(f_coarse(R(u_k))) + y_k with the exact y_k
    reproduces the fine trajectory to round-off (section 2.2, eq. 6)."""
    g = torch.Generator().manual_seed(3)
    u0 = torch.randn(2, 2, 32, 32, generator=g, dtype=torch.float64)
    traj = rd.simulate(u0, 50, 0.01, 0.1)
    y = rd.correction_pairs(traj, 0.01, 0.1)
    u = traj[:, 0]
    for k in range(50):
        u = rd.coarse_step(u, 0.01, 0.1) + y[:, k]
    err = float((u - traj[:, -1]).abs().max() / traj[:, -1].abs().max())
    assert err < 1e-12, f"relative deviation after 50 hybrid steps: {err:.2e}"
    # and the correction is not trivially zero: the coarse step alone drifts
    assert float(y.abs().max()) > 1e-3


def test_solve_dataset_and_batching():
    """solve() returns a valid 'pairs' file; trajectories are independent of batching."""
    ds = rd.solve(0.1, 16, trajectories=3, steps=4, warmup=2, seed=5)
    io.validate(ds, "pairs")
    assert ds["u"].dims == ("trajectory", "step", "component", "y", "x")
    assert ds.sizes["step"] == 5 and np.isnan(ds["unresolved"].values[:, -1]).all()
    assert np.isfinite(ds["unresolved"].values[:, :-1]).all()
    # trajectory 0 alone, from the same draws, gives the same numbers
    g = torch.Generator().manual_seed(5)
    u0 = torch.randn(3, 2, 16, 16, generator=g, dtype=torch.float64)
    for _ in range(2):
        u0 = rd.cn_step(u0, 0.01, 0.1)
    alone = rd.simulate(u0[:1], 4, 0.01, 0.1)
    assert np.allclose(ds["u"].values[0], alone[0].float().numpy(), atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 15}, "grid n = 15"), ({"n": 2}, "grid n = 2"), ({"dt": 0.0}, "dt = 0.0"),
    ({"steps": 0}, "steps = 0"), ({"gamma": -0.1}, "gamma = -0.1"),
    ({"trajectories": 0}, "trajectories = 0")])
def test_bad_input(kwargs, match):
    args = {"gamma": 0.1, "n": 16, "trajectories": 1, "steps": 1, "warmup": 0} | kwargs
    with pytest.raises(ConfigError, match=match):
        rd.solve(**args)


def test_reaction_variant_replays_the_trajectory():
    """unresolved="reaction" (section 2.3): the CN diffusion step with the stored
    φ(u_k) as its explicit source reproduces the fine trajectory."""
    ds = rd.solve(0.1, 16, trajectories=2, steps=10, warmup=5, unresolved="reaction")
    io.validate(ds, "pairs")
    u = torch.as_tensor(ds["u"].values, dtype=torch.float64)
    y = torch.as_tensor(ds["unresolved"].values, dtype=torch.float64)
    assert torch.allclose(y, rd.reaction(u), atol=1e-5)
    nxt = rd.cn_step(u[:, 3], 0.01, 0.1, source=lambda _: y[:, 3])
    assert torch.allclose(nxt, u[:, 4], atol=1e-5)


def test_unknown_unresolved_part():
    with pytest.raises(ConfigError, match="unresolved = 'pressure'"):
        rd.solve(0.1, 16, trajectories=1, steps=1, unresolved="pressure")
