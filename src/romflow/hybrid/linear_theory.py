"""Closed-form estimators of the unresolved map in linear hybrid dynamics.

Hybrid-simulation paper, section 3 and appendix A.2.  The dynamics are

    u_{k+1} = A u_k + B y_k,   y_k = C* u_k (+ noise),                    (eq. 12)

and the training states span a subspace V (here the stable manifold).  With
the data matrices ``U : (m, N)`` (states as columns) and ``Y : (n, N)``:

    OLS  (eq. 23):  C = argmin (1/N) Σ ||y_i - C u_i||²,  minimum-norm:  Y U^†
    mOLS (eq. 58):  C = argmin (1/N) Σ ||y_i - C u_i||² + λ ||C||_F²
                      = (Y U^T / N) (U U^T / N + λ I)^{-1}
    TR   (eq. 23):  C = argmin (1/N) Σ ||y_i - C u_i||² + λ ||P_{V⊥} (A + B C) u_i||²
                      = (I + λ B^T P_{V⊥} B)^{-1} (Y U^† - λ B^T P_{V⊥} A P_V)   (eq. 24/29)

P_V is estimated from the data (PCA: the leading left singular vectors of U).
Code names: ``P_V`` -> ``p_v``, ``P_{V⊥}`` -> ``p_perp``, λ -> ``lam``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["data_projection", "ols", "ridge", "tangent_regularized", "rollout",
           "trajectory_error", "ESTIMATORS", "sweep"]


def data_projection(U: np.ndarray, rank: int | None = None, rtol: float = 1e-8) -> np.ndarray:
    """P_V onto the span of the data ``U : (m, N)`` (PCA); ``rank`` or relative tolerance."""
    left, sing, _ = np.linalg.svd(U, full_matrices=False)
    r = int(rank) if rank is not None else int((sing > rtol * sing[0]).sum())
    basis = left[:, :r]
    return basis @ basis.T


def ols(U: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Minimum-norm least squares Y U^† (Proposition 3.1): ``(n, m)``."""
    return Y @ np.linalg.pinv(U)


def ridge(U: np.ndarray, Y: np.ndarray, lam: float) -> np.ndarray:
    """mOLS, eq. (58): least squares plus λ ||C||_F² (mean over samples)."""
    N, m = U.shape[1], U.shape[0]
    return (Y @ U.T / N) @ np.linalg.pinv(U @ U.T / N + lam * np.eye(m))  # λ = 0: OLS


def tangent_regularized(U: np.ndarray, Y: np.ndarray, A: np.ndarray, B: np.ndarray,
                        lam: float, p_v: np.ndarray | None = None) -> np.ndarray:
    """TR estimator in closed form, eq. (24)/(29), minimum norm."""
    if p_v is None:
        p_v = data_projection(U)
    p_perp = np.eye(len(p_v)) - p_v
    n = B.shape[1]
    lhs = np.eye(n) + lam * B.T @ p_perp @ B
    return np.linalg.solve(lhs, ols(U, Y) - lam * B.T @ p_perp @ A @ p_v)


def rollout(A: np.ndarray, B: np.ndarray, C: np.ndarray, u0: np.ndarray, steps: int):
    """Hybrid simulation u_{k+1} = (A + B C) u_k, eq. (15): ``(steps + 1, m)``."""
    M = A + B @ C
    out = [np.asarray(u0, float)]
    for _ in range(int(steps)):
        out.append(M @ out[-1])
    return np.stack(out)


def trajectory_error(A, B, C, C_true, u0, steps):
    """||û_k - u_k||_2 for k = 0..steps, û with C and u with the true C*."""
    return np.linalg.norm(rollout(A, B, C, u0, steps) - rollout(A, B, C_true, u0, steps),
                          axis=1)


#: name -> f(U, Y, A, B, lam) for the estimators compared in Fig. 7.
ESTIMATORS = {
    "ols": lambda U, Y, A, B, lam: ols(U, Y),
    "mols": lambda U, Y, A, B, lam: ridge(U, Y, lam),
    "tr": lambda U, Y, A, B, lam: tangent_regularized(U, Y, A, B, lam),
}


def sweep(pairs, lambdas, u0=(1.0, 0.0), steps: int | None = None, config=None):
    """Trajectory errors of OLS, mOLS and TR over a λ sweep, for every draw.

    ``pairs`` are the 'pairs' datasets of the draws (romflow.fom.linear).  The
    estimators are fitted on all (u_k, y_k) of a draw; the error is
    ||û_k - u_k|| of the hybrid rollout from ``u0`` against the true dynamics.
    Returns a 'linear_sweep' dataset with ``trajectory_error : (estimator, lam,
    draw, step)``.
    """
    import xarray as xr

    from romflow import io

    lambdas = np.asarray(lambdas, float)
    names = list(ESTIMATORS)
    first = pairs[0]
    steps = int(first.sizes[io.STEP] - 1 if steps is None else steps)
    err = np.empty((len(names), lambdas.size, len(pairs), steps + 1))
    for d, ds in enumerate(pairs):
        m = ds.sizes["component"]
        U = ds["u"].values[:, :-1].reshape(-1, m).T
        Y = ds["unresolved"].values[:, :-1].reshape(-1, m).T
        A, B, C = (ds[k].values for k in ("A", "B", "C"))
        for e, name in enumerate(names):
            for j, lam in enumerate(lambdas):
                Ch = ESTIMATORS[name](U, Y, A, B, lam)
                err[e, j, d] = trajectory_error(A, B, Ch, C, np.asarray(u0, float), steps)
    rates = np.abs(np.linalg.eigvals(first["F"].values))
    return xr.Dataset(
        {"trajectory_error": io.variable(("estimator", "lam", "draw", io.STEP), err, units="1",
                                         long_name="||u_hat_k - u_k||, hybrid rollout vs truth",
                                         nonfinite_means="inf: the rollout overflowed")},
        coords={"estimator": names, "lam": lambdas, "draw": [int(p.attrs["draw"]) for p in pairs],
                io.STEP: np.arange(steps + 1)},
        attrs=io.provenance("linear_sweep", "linear", equation=first.attrs["equation"],
                            solver="romflow.hybrid.linear_theory",
                            scheme="closed-form OLS / ridge / TR (Proposition 3.1), "
                                   "minimum norm", config=config, u0=list(u0),
                            stable_rate=float(rates.min()), unstable_rate=float(rates.max())))
