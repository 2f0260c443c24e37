"""Fifth-order WENO reconstruction of interface values, batched in torch.

For cell values q_i along one axis, the left-biased (upwind for a positive
speed) value at the interface i+1/2 is the convex combination of three
third-order candidates (Jiang & Shu 1996, J. Comput. Phys. 126, 202-228,
sections 2-3)

    q^(0) = ( 2 q_{i-2} - 7 q_{i-1} + 11 q_i    ) / 6,   d_0 = 0.1
    q^(1) = (  -q_{i-1} + 5 q_i     +  2 q_{i+1}) / 6,   d_1 = 0.6
    q^(2) = ( 2 q_i     + 5 q_{i+1} -    q_{i+2}) / 6,   d_2 = 0.3

    beta_0 = 13/12 (q_{i-2} - 2 q_{i-1} + q_i)^2 + 1/4 (q_{i-2} - 4 q_{i-1} + 3 q_i)^2
    beta_1 = 13/12 (q_{i-1} - 2 q_i + q_{i+1})^2 + 1/4 (q_{i-1} - q_{i+1})^2
    beta_2 = 13/12 (q_i - 2 q_{i+1} + q_{i+2})^2 + 1/4 (3 q_i - 4 q_{i+1} + q_{i+2})^2

    w_k = alpha_k / sum_l alpha_l, with

    "js": alpha_k = d_k / (eps + beta_k)^2              (Jiang & Shu 1996)
    "yc": alpha_k = d_k (1 + (tau / (eps + beta_k))^2),  (Yamaleev & Carpenter 2009,
          tau = (q_{i-2} - 4 q_{i-1} + 6 q_i - 4 q_{i+1} + q_{i+2})^2,
                                                         J. Comput. Phys. 228)

The "yc" form (squared fourth undivided difference, exponent 2) is the one
HyPar implements (``_WENOWeights_v_YC_``, eps = 1e-6 and p = 2 by default) and
uses in its Vlasov two-stream example.  The candidates are evaluated as
``q_i + (correction)/6`` from first differences, so a constant state is
reconstructed exactly whatever the weights.  The right-biased value (negative
speed) is the same formula on the mirrored stencil; both share the smoothness
indicators of a cell (:func:`reconstruct`), and :func:`upwind` selects by sign.
"""

from __future__ import annotations

import torch

from romflow.errors import ConfigError

__all__ = ["WEIGHTS", "EPS", "GHOSTS", "LINEAR_WEIGHTS", "check_weights", "reconstruct",
           "upwind", "flux_difference"]

#: Nonlinear weight types: Jiang-Shu and Yamaleev-Carpenter (ESWENO).
WEIGHTS = ("js", "yc")
#: The eps of the weights (HyPar's default, also Jiang & Shu 1996).
EPS = 1e-6
#: Ghost cells needed on each side of an axis for :func:`upwind`.
GHOSTS = 3
#: Optimal (linear) weights d_0, d_1, d_2 of the fifth-order combination.
LINEAR_WEIGHTS = (0.1, 0.6, 0.3)


def check_weights(weights: str) -> str:
    """Return ``weights`` if it names a weight type of :data:`WEIGHTS`, else ConfigError."""
    if weights not in WEIGHTS:
        raise ConfigError(f"weno = {weights!r} is not a WENO5 weight type; allowed: "
                          f"{list(WEIGHTS)} (Jiang-Shu, Yamaleev-Carpenter)")
    return weights


def reconstruct(q: torch.Tensor, weights: str = "yc", *, eps: float = EPS,
                dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Both upwind WENO5 values of every cell with a full stencil (module equations).

    Cell j's three stencils {j-2..j}, {j-1..j+1}, {j..j+2} give the left-biased
    value at j+1/2 (upwind for a positive speed) and, read mirrored, the
    right-biased value at j-1/2 (upwind for a negative speed).  The mirror
    swaps the roles of beta_0 and beta_2 and keeps tau, so the smoothness
    indicators and the nonlinear factors are computed once for both.

    Parameters
    ----------
    q : (..., m, ...)
        Cell values along ``dim`` (``m >= 5``), ghost cells included.
    weights : {"js", "yc"}
        Nonlinear weight type.
    eps : float
        Regularization of the weights.
    dim : int
        Axis of the reconstruction.

    Returns
    -------
    left, right : (..., m - 4, ...)
        For the cells j = 2, ..., m - 3: the value at j + 1/2 from the left and
        the value at j - 1/2 from the right.
    """
    check_weights(weights)
    m = q.shape[dim]
    n = m - 4
    d1 = q.narrow(dim, 1, m - 1) - q.narrow(dim, 0, m - 1)       # d1[j] = q_{j+1} - q_j
    d2 = d1.narrow(dim, 1, m - 2) - d1.narrow(dim, 0, m - 2)     # centred at j + 1
    d1m2, d1m1 = d1.narrow(dim, 0, n), d1.narrow(dim, 1, n)
    d10, d1p1 = d1.narrow(dim, 2, n), d1.narrow(dim, 3, n)
    d2m1, d20, d2p1 = d2.narrow(dim, 0, n), d2.narrow(dim, 1, n), d2.narrow(dim, 2, n)
    s = (13.0 / 12.0) * d2 * d2
    b0 = s.narrow(dim, 0, n) + 0.25 * (d2m1 + 2.0 * d1m1) ** 2
    b1 = s.narrow(dim, 1, n) + 0.25 * (d1m1 + d10) ** 2
    b2 = s.narrow(dim, 2, n) + 0.25 * (d2p1 - 2.0 * d10) ** 2
    if weights == "js":
        g0, g1, g2 = (1.0 / (eps + b) ** 2 for b in (b0, b1, b2))
    else:
        tau = ((d2m1 + d2p1) - 2.0 * d20) ** 2   # symmetric: mirror-exact
        g0, g1, g2 = (1.0 + (tau / (eps + b)) ** 2 for b in (b0, b1, b2))
    c0, c1, c2 = LINEAR_WEIGHTS
    a0, a1, a2 = c0 * g0, c1 * g1, c2 * g2
    left = (a0 * (5.0 * d1m1 - 2.0 * d1m2) + a1 * (2.0 * d10 + d1m1)
            + a2 * (4.0 * d10 - d1p1)) / (6.0 * (a0 + a1 + a2))
    a0, a2 = c0 * g2, c2 * g0
    right = (a0 * (2.0 * d1p1 - 5.0 * d10) - a1 * (2.0 * d1m1 + d10)
             + a2 * (d1m2 - 4.0 * d1m1)) / (6.0 * (a0 + a1 + a2))
    centre = q.narrow(dim, 2, n)
    return centre + left, centre + right


def upwind(q: torch.Tensor, positive: torch.Tensor, weights: str = "yc", *,
           eps: float = EPS, dim: int = -1) -> torch.Tensor:
    """Upwind WENO5 interface values of a padded array.

    Parameters
    ----------
    q : (..., n + 6, ...)
        Cell values along ``dim`` with :data:`GHOSTS` = 3 ghost cells on each side.
    positive : bool tensor broadcastable to the result (size 1 along ``dim``)
        Sign of the advection speed: the left-biased value where True, the
        right-biased one elsewhere.

    Returns
    -------
    (..., n + 1, ...)
        Values at the interfaces i - 1/2 for i = 0, ..., n (interior cells 0..n-1).
    """
    left, right = reconstruct(q, weights, eps=eps, dim=dim)
    n = q.shape[dim] - 6
    return torch.where(positive, left.narrow(dim, 0, n + 1), right.narrow(dim, 1, n + 1))


def flux_difference(flux: torch.Tensor, positive: torch.Tensor, h: float,
                    weights: str = "yc", *, eps: float = EPS, dim: int = -1) -> torch.Tensor:
    """Conservative upwind WENO5 derivative (F_{i+1/2} - F_{i-1/2}) / h.

    Parameters
    ----------
    flux : (..., n + 6, ...)
        Flux at cell centres along ``dim`` with 3 ghost cells on each side.
    positive : bool tensor broadcastable to ``flux``, constant along ``dim``
        Sign of the advection speed (the upwind direction).
    h : float
        Grid spacing.

    Returns
    -------
    (..., n, ...)
        Approximation of dF/d(axis) at the n interior cells, fifth order where smooth.
    """
    fh = upwind(flux, positive, weights, eps=eps, dim=dim)
    n = fh.shape[dim] - 1
    return (fh.narrow(dim, 1, n) - fh.narrow(dim, 0, n)) / h
