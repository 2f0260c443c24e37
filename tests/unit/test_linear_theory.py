"""Closed-form estimators of the hybrid paper, Proposition 3.1 and Remark 3.3."""

import numpy as np
import pytest
import torch

from romflow.fom import linear
from romflow.hybrid import linear_theory as lt


def data(draw=0, noise=1e-3):
    ds = linear.solve(draw, trajectories=10, steps=50, noise=noise)
    U = ds["u"].values[:, :-1].reshape(-1, 2).T
    Y = ds["unresolved"].values[:, :-1].reshape(-1, 2).T
    return U, Y, ds["A"].values, ds["B"].values, ds["C"].values


def test_data_projection_is_the_stable_manifold():
    """The trajectories stay on R x {0}: P_V = e1 e1^T."""
    U, *_ = data()
    assert np.allclose(lt.data_projection(U), np.diag([1.0, 0.0]), atol=1e-12)


def test_noiseless_ols_recovers_c_on_v_and_vanishes_off_it():
    """Eq. (26) with ε = 0: C_OLS = C* P_V (minimum norm)."""
    U, Y, A, B, C = data(noise=0.0)
    assert np.allclose(lt.ols(U, Y), C @ lt.data_projection(U), atol=1e-10)


@pytest.mark.parametrize("lam", [1.0, 1e3])
def test_tr_is_unbiased_and_ridge_is_not(lam):
    """Remark 3.3: without noise, C* P_V minimizes both TR terms, so C_TR = C* P_V for
    every λ; the ridge (mOLS) estimate is shrunk away from it."""
    U, Y, A, B, C = data(noise=0.0)
    truth = C @ lt.data_projection(U)
    assert np.allclose(lt.tangent_regularized(U, Y, A, B, lam), truth, atol=1e-9)
    assert not np.allclose(lt.ridge(U, Y, lam), truth, atol=1e-3)


def test_tr_with_zero_penalty_is_ols_and_ridge_with_zero_penalty_is_ols():
    U, Y, A, B, _ = data()
    assert np.allclose(lt.tangent_regularized(U, Y, A, B, 0.0), lt.ols(U, Y), atol=1e-12)
    assert np.allclose(lt.ridge(U, Y, 0.0), lt.ols(U, Y), atol=1e-9)


@pytest.mark.parametrize("lam", [0.5, 10.0])
def test_closed_form_tr_equals_the_trained_minimizer(lam):
    """Minimizing the TR objective (eq. 23) by L-BFGS from C = 0 (which keeps the
    minimum-norm row space) reaches the closed form of eq. (24) to 1e-6."""
    U, Y, A, B, _ = data(draw=1)
    p_perp = torch.as_tensor(np.eye(2) - lt.data_projection(U))
    Ut, Yt, At, Bt = (torch.as_tensor(a) for a in (U, Y, A, B))
    C = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([C], lr=1.0, max_iter=500, tolerance_grad=1e-14,
                            tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        n = Ut.shape[1]
        loss = ((Yt - C @ Ut) ** 2).sum() / n \
            + lam * ((p_perp @ (At + Bt @ C) @ Ut) ** 2).sum() / n
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    closed = lt.tangent_regularized(U, Y, A, B, lam)
    err = np.abs(C.detach().numpy() - closed).max()
    assert err < 1e-6, f"max |C_trained - C_closed| = {err:.2e}"


def test_rollout_with_the_true_map_is_exact():
    """rollout(A, B, C*) reproduces u_k = F^k u_0, so trajectory errors start at 0."""
    U, Y, A, B, C = data()
    u = lt.rollout(A, B, C, np.array([1.0, 0.0]), 50)
    assert np.allclose(u[-1], np.linalg.matrix_power(linear.F, 50) @ [1.0, 0.0])
    assert lt.trajectory_error(A, B, C, C, np.array([1.0, 0.0]), 10).max() == 0


def test_sweep_dataset_and_its_consistency():
    """sweep() evaluates every estimator × λ × draw; OLS ignores λ, TR at tiny λ is OLS,
    and the errors start at 0 (rollouts start from the true state)."""
    from romflow import io

    pairs = [linear.solve(d, trajectories=4, steps=20) for d in range(3)]
    ds = lt.sweep(pairs, [1e-12, 1.0, 100.0])
    io.validate(ds, "linear_sweep")
    err = ds["trajectory_error"]
    assert err.dims == ("estimator", "lam", "draw", "step") and err.shape == (3, 3, 3, 21)
    assert np.allclose(err.sel(estimator="ols").values, err.sel(estimator="ols").values[:1])
    assert np.allclose(err.sel(estimator="tr").isel(lam=0), err.sel(estimator="ols").isel(lam=0),
                       rtol=1e-6, atol=1e-12)
    assert (err.isel(step=0) == 0).all()
    assert ds.attrs["stable_rate"] == 0.95 and ds.attrs["unstable_rate"] == 1.2
