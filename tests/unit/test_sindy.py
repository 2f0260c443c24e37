"""Tests of romflow.lasdi.sindy: library, finite differences and the least-squares fit (eq. 10)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from romflow.errors import ConfigError, NotFittedError
from romflow.lasdi import sindy
from romflow.lasdi.sindy import SINDy

# Three stable linear systems dz/dt = b + A z (every eigenvalue of A has a
# negative real part), one per parameter.
A_TRUE = np.array([
    [[-0.3, 1.0, 0.0], [-1.0, -0.3, 0.2], [0.0, -0.2, -0.5]],
    [[-0.5, 0.5, 0.1], [-0.7, -0.2, 0.0], [0.1, 0.0, -0.4]],
    [[-0.1, 2.0, 0.0], [-2.0, -0.1, 0.0], [0.3, 0.0, -1.0]],
])
B_TRUE = np.array([[0.5, -0.2, 0.1], [0.0, 0.3, -0.4], [1.0, 0.0, 0.2]])
Z0 = np.array([[1.0, 0.0, 0.5], [-0.5, 1.0, 0.2], [0.3, 0.3, -1.0]])
T_END = 4.0


def exact_linear(t: np.ndarray) -> np.ndarray:
    """Analytic solution of dz/dt = b + A z: (z(t), 1) = expm(M t) (z0, 1), M = [[A, b], [0, 0]].

    Returns ``(param, time, latent)`` float64.
    """
    out = []
    for A, b, z0 in zip(A_TRUE, B_TRUE, Z0):
        n = len(b)
        M = np.zeros((n + 1, n + 1))
        M[:n, :n] = A
        M[:n, n] = b
        E = scipy.linalg.expm(M[None] * np.asarray(t)[:, None, None])  # (time, n+1, n+1)
        out.append((E @ np.append(z0, 1.0))[:, :n])
    return np.stack(out)


def true_xi() -> np.ndarray:
    """Xi of eq. (9) in romflow's layout: xi[:, 0] = b, xi[:, 1:] = A^T."""
    return np.stack([np.vstack([b[None], A.T]) for A, b in zip(A_TRUE, B_TRUE)])


def linear_fit_error(nt: int) -> tuple[float, float]:
    t = np.linspace(0.0, T_END, nt)
    dt = t[1] - t[0]
    z = torch.tensor(exact_linear(t), dtype=torch.float64)
    xi = SINDy("linear").fit(z, dt).coef_.numpy()
    return dt, float(np.abs(xi - true_xi()).max())


def test_stable_systems():
    # Guard on the test data itself: the reference systems must be stable.
    for A in A_TRUE:
        assert np.linalg.eigvals(A).real.max() < 0


def test_linear_fit_recovers_known_system():
    """Reference: analytic solution via the matrix exponential; the only error left is the
    O(dt^2) truncation error of the 2nd-order finite differences (|z'''| <~ 2 here, the
    least-squares fit amplifies it by the conditioning of Theta)."""
    dt, err = linear_fit_error(101)
    assert err < 5 * dt**2, f"max |Xi - Xi_true| = {err:.3e} exceeds 5 dt^2 = {5 * dt**2:.3e}"


def test_linear_fit_second_order_in_dt():
    """Reference: 2nd-order finite differences -> coefficient error ~ dt^2 (halving dt: /4)."""
    dts, errs = zip(*(linear_fit_error(nt) for nt in (101, 201, 401)))
    rates = [np.log(errs[i] / errs[i + 1]) / np.log(dts[i] / dts[i + 1]) for i in range(2)]
    assert min(rates) > 1.75, (f"expected order 2, measured orders {rates} "
                               f"(dt = {dts}, errors = {errs})")


def test_fit_coefficients_layout_and_dtype():
    t = np.linspace(0.0, T_END, 51)
    z = torch.tensor(exact_linear(t), dtype=torch.float64)
    model = SINDy("linear").fit(z, t[1] - t[0])
    assert model.coef_.shape == (3, 4, 3)
    assert model.coef_.dtype == torch.float64
    # b sits in row 0, A^T below it: a transposed A would be off by far more than dt^2.
    err_transposed = np.abs(model.coef_.numpy()[:, 1:] - A_TRUE).max()
    assert err_transposed > 0.1


def test_batched_fit_equals_per_parameter_fits():
    t = np.linspace(0.0, T_END, 81)
    dt = t[1] - t[0]
    z = torch.tensor(exact_linear(t), dtype=torch.float64)
    batched = SINDy("linear").fit(z, dt).coef_
    for i in range(z.shape[0]):
        single = SINDy("linear").fit(z[i:i + 1], dt).coef_[0]
        torch.testing.assert_close(batched[i], single, rtol=1e-12, atol=1e-12)


def test_fit_is_differentiable_in_latents():
    # Stage-1 training backpropagates through the fit (eq. 14).
    t = np.linspace(0.0, T_END, 41)
    z = torch.tensor(exact_linear(t), dtype=torch.float64, requires_grad=True)
    model = SINDy("linear").fit(z, t[1] - t[0])
    (model.residual_loss() + model.coef_norm2()).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_residual_loss_zero_for_exactly_representable_data():
    """Reference: z(t) = c0 + c1 t has dz/dt = c1 exactly, and the FD are exact for it, so
    the misfit L_DI of eq. (13) vanishes (Theta is rank deficient: Xi is not unique)."""
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    c0 = torch.tensor([1.0, -2.0])
    c1 = torch.tensor([0.5, 3.0])
    z = (c0 + c1 * t[:, None])[None].double()
    model = SINDy("linear").fit(z, 0.1)
    assert float(model.residual_loss()) < 1e-24
    torch.testing.assert_close(model.dzdt_[0], c1.double().expand(11, 2), rtol=0, atol=1e-12)
    torch.testing.assert_close(model.coef_norm2(), torch.sum(model.coef_**2))


def test_time_derivative_exact_for_quadratics():
    """Reference: centred and one-sided 3-point differences are exact for degree-2 polynomials."""
    t = torch.linspace(0.0, 2.0, 9, dtype=torch.float64)
    a, b, c = 0.7, -1.3, 2.1
    z = torch.stack([a + b * t + c * t**2, -c * t**2 + a * t], dim=-1)[None]
    dz = sindy.time_derivative(z, float(t[1] - t[0]))
    exact = torch.stack([b + 2 * c * t, -2 * c * t + a], dim=-1)[None]
    torch.testing.assert_close(dz, exact, rtol=0, atol=1e-12)


def test_time_derivative_second_order():
    """Reference: d/dt sin(t) = cos(t); 2nd-order differences (interior and both ends)."""
    errs, dts = [], []
    for nt in (21, 41, 81):
        t = torch.linspace(0.0, 2.0, nt, dtype=torch.float64)
        dt = float(t[1] - t[0])
        z = torch.sin(t)[None, :, None]
        errs.append(float((sindy.time_derivative(z, dt)[0, :, 0] - torch.cos(t)).abs().max()))
        dts.append(dt)
    rates = [np.log(errs[i] / errs[i + 1]) / np.log(dts[i] / dts[i + 1]) for i in range(2)]
    assert min(rates) > 1.9, f"expected order 2, measured {rates}, errors {errs}"


def test_time_derivative_needs_three_times():
    with pytest.raises(ValueError, match="at least 3 times, got 2"):
        sindy.time_derivative(torch.zeros(1, 2, 3), 0.1)


def test_quadratic_library_recovers_riccati_coefficients():
    """Reference: analytic solutions of
        dz0/dt = z0 - z0^2        (logistic, z0 = 1 / (1 + 9 e^{-t}), z0(0) = 0.1)
        dz1/dt = -0.5 z1^2        (z1 = 2 / (1 + t), z1(0) = 2)
    Library (1, z0, z1, z0^2, z1^2); FD error O(dt^2)."""
    errs, dts = [], []
    truth = np.zeros((5, 2))
    truth[1, 0], truth[3, 0] = 1.0, -1.0
    truth[4, 1] = -0.5
    for nt in (201, 401):
        t = np.linspace(0.0, 6.0, nt)
        z = np.stack([1.0 / (1.0 + 9.0 * np.exp(-t)), 2.0 / (1.0 + t)], axis=-1)[None]
        dt = t[1] - t[0]
        coef = SINDy("quadratic").fit(torch.tensor(z), dt).coef_.numpy()[0]
        assert coef.shape == (5, 2)
        errs.append(np.abs(coef - truth).max())
        dts.append(dt)
    rate = np.log(errs[0] / errs[1]) / np.log(dts[0] / dts[1])
    assert errs[1] < 1e-2, f"quadratic coefficients off by {errs[1]:.3e}:\n{coef}"
    assert rate > 1.75, f"expected order 2, measured {rate:.2f}, errors {errs}"


def test_library_columns_and_names():
    z = torch.tensor([[2.0, -3.0]])
    torch.testing.assert_close(sindy.library(z, "linear"), torch.tensor([[1.0, 2.0, -3.0]]))
    torch.testing.assert_close(sindy.library(z, "quadratic"),
                               torch.tensor([[1.0, 2.0, -3.0, 4.0, 9.0]]))
    assert sindy.term_names(2, "linear") == ["1", "z0", "z1"]
    assert sindy.term_names(2, "quadratic") == ["1", "z0", "z1", "z0^2", "z1^2"]
    for latent in (1, 3, 10):
        assert sindy.n_terms(latent, "linear") == 1 + latent == len(sindy.term_names(latent))
        assert sindy.n_terms(latent, "quadratic") == 1 + 2 * latent
        assert len(sindy.term_names(latent, "quadratic")) == 1 + 2 * latent
    assert sindy.library(torch.zeros(4, 7, 3), "quadratic").shape == (4, 7, 7)


def test_rhs_matches_linear_system():
    A = torch.tensor([[-1.0, 2.0], [0.5, -3.0]])
    b = torch.tensor([0.1, -0.2])
    xi = torch.cat([b[None], A.T])
    z = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
    torch.testing.assert_close(sindy.rhs(z, xi), b + z @ A.T)


@pytest.mark.parametrize("call", [
    lambda: SINDy("cubic"),
    lambda: sindy.n_terms(3, "cubic"),
    lambda: sindy.term_names(3, "cubic"),
    lambda: sindy.library(torch.zeros(2, 3), "cubic"),
])
def test_unknown_library_raises_config_error(call):
    with pytest.raises(ConfigError, match=r"'cubic'.*allowed.*linear.*quadratic"):
        call()


def test_losses_before_fit_raise():
    with pytest.raises(NotFittedError, match="call fit"):
        SINDy().residual_loss()
    with pytest.raises(NotFittedError, match="call fit"):
        SINDy().coef_norm2()


def test_fit_on_nonfinite_latents_propagates_nan():
    """Like every torch op, a NaN latent must give NaN coefficients (so the training loss
    turns non-finite and optimize reports TrainingDivergedError), not a LAPACK error."""
    t = np.linspace(0.0, T_END, 41)
    z = torch.tensor(exact_linear(t), dtype=torch.float64)
    z[1, 5, 0] = float("nan")
    coef = SINDy("linear").fit(z, t[1] - t[0]).coef_
    assert torch.isnan(coef[1]).all()


def test_fit_is_bitwise_reproducible():
    """Same input -> same bits, forward and backward, whatever else is allocated
    (project rule: same config + seed on the same CPU -> same numbers)."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 21, 3, generator=g)

    def run():
        zz = z.clone().requires_grad_(True)
        coef = SINDy("linear").fit(zz, 0.1).coef_
        (coef**2).sum().backward()
        return coef.detach(), zz.grad

    coef0, grad0 = run()
    keep = []
    for i in range(100):
        keep.append(torch.empty(7 * i + 1))  # shifts the alignment of later allocations
        coef, grad = run()
        assert torch.equal(coef, coef0), f"coefficients differ on repetition {i}"
        assert torch.equal(grad, grad0), f"gradients differ on repetition {i}"
