"""Tests of romflow.lasdi.rollout: closed-form and RK4 latent rollouts, blow-up detection."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from romflow import io
from romflow.lasdi import rollout


def random_linear_xi(shape, latent, seed=0):
    """Xi = (b, A^T) with A = -I/2 + 0.5 * random: mildly stable or mildly growing systems."""
    g = torch.Generator().manual_seed(seed)
    A = -0.5 * torch.eye(latent, dtype=torch.float64) + 0.5 * torch.randn(
        *shape, latent, latent, generator=g, dtype=torch.float64)
    b = torch.randn(*shape, 1, latent, generator=g, dtype=torch.float64)
    z0 = torch.randn(*shape, latent, generator=g, dtype=torch.float64)
    return torch.cat([b, A.transpose(-1, -2)], dim=-2), z0, A, b[..., 0, :]


def test_integrate_linear_equals_matrix_exponential():
    """Reference: analytic solution (z(t), 1) = expm(M t) (z0, 1), M = [[A, b], [0, 0]]."""
    xi, z0, A, b = random_linear_xi((2,), 3, seed=1)
    t = torch.linspace(0.0, 3.0, 31, dtype=torch.float64)
    z = rollout.integrate_linear(xi, z0, t)
    assert z.shape == (2, 31, 3)
    for p in range(2):
        M = np.zeros((4, 4))
        M[:3, :3] = A[p].numpy()
        M[:3, 3] = b[p].numpy()
        exact = np.stack([(scipy.linalg.expm(M * ti) @ np.append(z0[p].numpy(), 1.0))[:3]
                          for ti in t.numpy()])
        np.testing.assert_allclose(z[p].numpy(), exact, rtol=1e-10, atol=1e-10)


def test_integrate_linear_equals_fine_rk4_batched_over_samples_and_params():
    """Reference: classical RK4 (4th order) with 200 substeps per interval, error ~1e-12."""
    xi, z0, _, _ = random_linear_xi((4, 3), 5, seed=2)
    t = torch.linspace(0.0, 2.0, 21, dtype=torch.float64)
    closed = rollout.integrate_linear(xi, z0, t)
    rk4 = rollout.integrate_rk4(xi, z0, t, "linear", substeps=200)
    assert closed.shape == rk4.shape == (4, 3, 21, 5)
    rel = float((closed - rk4).norm() / rk4.norm())
    assert rel < 1e-6, f"relative difference closed form vs RK4 = {rel:.3e}"
    # the first saved state is the initial condition, exactly
    assert torch.equal(closed[..., 0, :], z0)


def test_integrate_dispatches_linear_and_reports_no_blowup():
    xi, z0, _, _ = random_linear_xi((3,), 2, seed=3)
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    z, step = rollout.integrate(xi, z0, t, library="linear")
    torch.testing.assert_close(z, rollout.integrate_linear(xi, z0, t), rtol=0, atol=0)
    assert step.dtype == torch.int64
    assert step.tolist() == [-1, -1, -1]


def test_quadratic_blowup_at_analytic_time():
    """Reference: dz/dt = z^2 has z(t) = 1 / (1/z0 - t), which blows up at t* = 1/z0;
    z0 < 0 decays and never blows up."""
    t = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
    xi = torch.zeros(3, 3, 1, dtype=torch.float64)  # terms (1, z, z^2)
    xi[:, 2, 0] = 1.0
    t_star = torch.tensor([0.503, 0.7312, -1.0], dtype=torch.float64)
    z0 = (1.0 / t_star)[:, None]
    z, step = rollout.integrate(xi, z0, t, library="quadratic", blowup_threshold=1e6)
    assert step[2] == -1
    assert torch.isfinite(z[2]).all()
    for p in range(2):
        first_after = int(torch.nonzero(t > t_star[p])[0])
        assert first_after - 1 <= int(step[p]) <= first_after + 1, (
            f"blow-up at t* = {float(t_star[p])} expected near index {first_after}, "
            f"reported {int(step[p])}")
        s = int(step[p])
        assert torch.isnan(z[p, s:]).all(), "states from the blow-up on must be NaN"
        assert torch.isfinite(z[p, :s]).all()
        # before the blow-up, RK4 follows the analytic solution
        exact = 1.0 / (1.0 / z0[p, 0] - t[: s - 5])
        np.testing.assert_allclose(z[p, : s - 5, 0].numpy(), exact.numpy(), rtol=1e-6)


def test_detect_blowup_threshold_and_nonfinite():
    z = torch.zeros(4, 6, 2)
    z[0, 3, 1] = float("nan")    # non-finite input marks a blow-up
    z[1, 2, 0] = float("inf")
    z[2, 4, 0] = 2e6             # above the threshold
    z[2, 5, 0] = 1.0             # coming back below does not undo it
    z[3, :, :] = 999.0           # below the threshold: never
    masked, step = rollout.detect_blowup(z, threshold=1e3)
    assert step.tolist() == [3, 2, 4, -1]
    for p, s in enumerate([3, 2, 4]):
        assert torch.isnan(masked[p, s:]).all()
        assert torch.equal(masked[p, :s], z[p, :s])
    assert torch.equal(masked[3], z[3])


def test_detect_blowup_leading_axes():
    z = torch.zeros(2, 3, 5, 1)
    z[1, 2, 1, 0] = -1e9
    _, step = rollout.detect_blowup(z, threshold=1e6)
    assert step.shape == (2, 3)
    expected = -torch.ones(2, 3, dtype=torch.int64)
    expected[1, 2] = 1
    assert torch.equal(step, expected)


def test_nonfinite_coefficients_mark_blowup_at_first_step():
    xi, z0, _, _ = random_linear_xi((2,), 2, seed=4)
    xi[1, 1, 0] = float("nan")
    t = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)
    z, step = rollout.integrate(xi, z0, t)
    assert step.tolist() == [-1, 1]
    assert torch.isnan(z[1, 1:]).all() and torch.isfinite(z[1, 0]).all()


@pytest.mark.parametrize("t, what", [
    (torch.tensor([0.0, 0.1, 0.3, 0.4], dtype=torch.float64), "uniform"),
    (torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64), "increasing"),
    (torch.tensor([0.0], dtype=torch.float64), "at least 2 points"),
])
def test_bad_time_grid_raises(t, what):
    xi, z0, _, _ = random_linear_xi((1,), 2)
    with pytest.raises(ValueError, match=what):
        rollout.integrate(xi, z0, t)
    with pytest.raises(ValueError, match=what):
        rollout.integrate_rk4(xi, z0, t, "linear")


def test_predict_and_its_errors_from_a_stage1_fit(stage1_fit, stage1_coefficients):
    """End-to-end shapes and contract: stage-1 fit -> GP -> rollout -> errors (eq. 25)."""
    from romflow import metrics

    fom, _, state, latent, _ = stage1_fit
    pred, errors = rollout.predict(fom, stage1_coefficients, [state])
    io.validate(pred, "prediction")
    io.validate(errors, "errors")
    assert pred["u_pred"].shape == pred["u_spread"].shape == (1, *fom["u"].shape)
    assert pred["blowup_step"].values.tolist() == [-1, -1, -1]
    assert np.isfinite(pred["u_pred"].values).all()
    expected = metrics.relative_error(fom["u"].values, pred["u_pred"].values)
    np.testing.assert_allclose(errors["rel_error"].values, expected, rtol=1e-5)
    np.testing.assert_allclose(errors["max_rel_error"].values, expected.max(-1), rtol=1e-5)
    np.testing.assert_allclose(errors["min_rel_error_over_time"].values, expected.min(-1),
                               rtol=1e-5)
    spread = np.linalg.norm(pred["u_spread"].values, axis=-1) / np.linalg.norm(
        fom["u"].values, axis=-1)
    np.testing.assert_allclose(errors["rel_spread"].values, spread, rtol=1e-4)


def test_predict_in_chunks_equals_one_chunk_and_states_are_optional(stage1_fit,
                                                                     stage1_coefficients,
                                                                     monkeypatch):
    fom, _, state, _, _ = stage1_fit
    whole, errors = rollout.predict(fom, stage1_coefficients, [state])
    chunks = []
    original = rollout._chunks
    monkeypatch.setattr(rollout, "_chunks", lambda *a, **k: chunks.append(1) or
                        original(*a, budget=1.0))
    parts, part_errors = rollout.predict(fom, stage1_coefficients, [state],
                                         store_states=False)
    assert chunks and "u_pred" not in parts
    io.validate(parts, "prediction")
    # a matrix product over another batch size rounds float32 differently: round-off only
    for name in ("rel_error", "rel_spread", "max_rel_error"):
        np.testing.assert_allclose(part_errors[name].values, errors[name].values, rtol=1e-6,
                                   atol=1e-6)
    np.testing.assert_allclose(parts["z_pred"].values, whole["z_pred"].values, rtol=1e-5,
                               atol=1e-6)


def test_a_blown_up_quadratic_rollout_is_inf_never_nan(stage1_fit, stage1_coefficients):
    """Appendix B: dz/dt = b + c z^2 with b, c > 0 blows up in finite time
    (t = pi / (2 sqrt(b c)) from z = 0); it is a recorded result, not a NaN error."""
    fom, _, state, _, _ = stage1_fit
    quad = {**state, "library": "quadratic"}
    n = state["kwargs"]["latent"]
    coef = stage1_coefficients.copy(deep=True)
    xi = np.zeros((fom.sizes[io.PARAM], 1 + 2 * n, n))
    xi[1, 0, 0], xi[1, 1 + n, 0] = 10.0, 10.0       # parameter 1: b = c = 10 in z0
    samples = np.broadcast_to(xi, (coef.sizes[io.SAMPLE], *xi.shape)).copy()
    coef = coef.drop_vars(["xi_mean", "xi_std", "xi_samples", io.TERM])
    coef["xi_mean"] = io.variable((io.PARAM, io.TERM, io.LATENT), xi, units="1",
                                  long_name="Xi")
    coef["xi_std"] = io.variable((io.PARAM, io.TERM, io.LATENT), 0 * xi, units="1",
                                 long_name="std")
    coef["xi_samples"] = io.variable((io.SAMPLE, io.PARAM, io.TERM, io.LATENT), samples,
                                     units="1", long_name="samples")
    pred, errors = rollout.predict(fom, coef, [quad])
    steps = pred["blowup_step"].values
    assert steps[0] == steps[2] == -1 and steps[1] > 0
    assert np.isinf(errors["max_rel_error"].values[0, 1])
    assert np.isfinite(errors["max_rel_error"].values[0, [0, 2]]).all()
    assert not np.isnan(errors["max_rel_error"].values).any()
    assert pred["blowup_fraction"].values.tolist() == [0.0, 1.0, 0.0]
