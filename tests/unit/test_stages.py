"""Tests of romflow.lasdi.stages: multi-stage composition, mLaSDI eqs. (17)-(19)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from romflow.lasdi.autoencoder import Autoencoder, SineDecoder
from romflow.lasdi.stages import compose, load_stages, residual


def test_compose_gives_cumulative_sums():
    """Eq. (19): entry k-1 is U1 + e1 U2 + ... + e_{k-1} U_k."""
    g = torch.Generator().manual_seed(0)
    U1, U2, U3 = (torch.randn(2, 5, 7, generator=g, dtype=torch.float64) for _ in range(3))
    e1, e2 = 0.3, 0.01
    out = compose([U1, U2, U3], [1.0, e1, e2])
    assert out.shape == (3, 2, 5, 7)
    torch.testing.assert_close(out[0], U1, rtol=0, atol=0)
    torch.testing.assert_close(out[1], U1 + e1 * U2, rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(out[2], U1 + e1 * U2 + e2 * U3, rtol=1e-15, atol=1e-15)


def test_exact_residual_decoders_reproduce_u():
    """Eqs. (17)-(19): if stage k decodes R_{k-1}/eps_{k-1} exactly, the composite is U."""
    g = torch.Generator().manual_seed(1)
    U = torch.randn(3, 11, 17, generator=g, dtype=torch.float64)
    U1 = U + 0.1 * torch.randn(U.shape, generator=g, dtype=torch.float64)  # any stage 1
    R1, e1 = residual(U, U1)
    U2_inexact = R1 / e1 + 0.05 * torch.randn(U.shape, generator=g, dtype=torch.float64)
    R2, e2 = residual(U, U1 + e1 * U2_inexact)
    U3 = R2 / e2
    out = compose([U1, U2_inexact, U3], [1.0, e1, e2])
    torch.testing.assert_close(out[2], U, rtol=0, atol=1e-12)
    assert float((out[1] - U).abs().max()) > 1e-3  # stage 2 alone is not exact
    # two exact stages: U1 + e1 (R1/e1) = U
    out2 = compose([U1, R1 / e1], [1.0, e1])
    torch.testing.assert_close(out2[-1], U, rtol=0, atol=1e-12)


def test_residual_returns_difference_and_std():
    g = torch.Generator().manual_seed(2)
    u = torch.randn(100, 1000, generator=g, dtype=torch.float64)
    approx = 0.5 * u
    r, eps = residual(u, approx)
    torch.testing.assert_close(r, u - approx, rtol=0, atol=0)
    assert isinstance(eps, float)
    # eps = std(R), eq. (18): 1e5 entries, so ddof 0 or 1 agree to 1e-5
    assert eps == pytest.approx(np.std((u - approx).numpy()), rel=1e-4)
    assert eps == pytest.approx(0.5, rel=0.02)


def test_compose_length_mismatch_raises():
    with pytest.raises(ValueError, match="2 stage outputs but 3 scales"):
        compose([torch.zeros(2), torch.zeros(2)], [1.0, 0.1, 0.2])


def _states():
    torch.manual_seed(0)
    ae = Autoencoder(n_in=12, hidden=[8], latent=2)
    dec = SineDecoder(n_in=12, hidden=[8], latent=2, kappa=2.0)
    return [
        {"arch": "autoencoder", "kwargs": {"n_in": 12, "hidden": [8], "latent": 2},
         "state_dict": ae.state_dict(), "scale": 1.0, "stage": 1},
        {"arch": "sine_decoder", "kwargs": {"n_in": 12, "hidden": [8], "latent": 2,
                                            "kappa": 2.0},
         "state_dict": dec.state_dict(), "scale": 0.25, "stage": 2},
    ], ae, dec


def test_load_stages_rebuilds_modules_and_scales():
    states, ae, dec = _states()
    modules, scales = load_stages(states)
    assert scales == [1.0, 0.25]
    assert isinstance(modules[0], Autoencoder) and isinstance(modules[1], SineDecoder)
    assert not modules[0].training and not modules[1].training
    z = torch.randn(4, 2)
    with torch.no_grad():
        torch.testing.assert_close(modules[0].decode(z), ae.decode(z), rtol=0, atol=0)
        torch.testing.assert_close(modules[1].decode(z), dec(z), rtol=0, atol=0)


def test_load_stages_out_of_order_raises():
    states, _, _ = _states()
    with pytest.raises(ValueError, match="out of order: expected stage 1, got stage 2"):
        load_stages(states[::-1])
