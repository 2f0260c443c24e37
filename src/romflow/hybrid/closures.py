"""Estimators of the unresolved part: OLS, mOLS, aOLS and tangent-space regularized (TR).

Hybrid-simulation paper, sections 3–4.  A surrogate φθ(u) ≈ y is trained on
pairs (u_i, y_i) by

    OLS   mean_i ||φθ(u_i) - y_i||²
    mOLS  the same with Adam weight decay
    aOLS  the same on inputs u_i + σ ξ, ξ ~ N(0, I) drawn afresh every epoch
    TR    mean_i ||φθ(u_i) - y_i||² + λ mean_i (n_iᵀ L(u_i, φθ(u_i)))²      (eq. 21, 23)

with n_i = ∇F(u_i) the manifold normals (:mod:`romflow.hybrid.manifold`) and L
the hybrid velocity of eq. (2), u_{k+1} = u_k + Δt L(u_k, y_k): a velocity, not
the increment Δt L, so λ has the paper's scale (using the increment would
shrink λ by Δt², 1e-4 at Δt = 0.01).  Every resolved step here is affine in
the unresolved value, L(u, y) = a(u) + B y, so the TR term only needs the
precomputed scalars c_i = n_iᵀ a(u_i) and vectors m_i = Bᵀ n_i:
n_iᵀ L = c_i + m_iᵀ φθ(u_i), one dot product per sample.  All four share the
optimizer (Adam), the schedule (ReduceLROnPlateau on the epoch loss) and the
epoch budget.  Both terms are means over samples of per-sample sums over
components, so λ is the paper's λ of eq. (23) (10 in its experiments).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from romflow.errors import ConfigError, TrainingDivergedError
from romflow.hybrid import checkpoint as checkpoint_io

__all__ = ["ESTIMATORS", "ClosureSpec", "tr_coefficients", "tr_of_data", "tr_minimizer",
           "tr_floor", "evaluate", "fit_closure"]

ESTIMATORS = ("ols", "mols", "aols", "tr")


@dataclass(frozen=True)
class ClosureSpec:
    """Training settings shared by the four estimators (one field used per estimator)."""

    estimator: str
    epochs: int = 100
    lr: float = 1e-4
    batch: int = 32
    weight_decay: float = 1e-4     # mOLS
    noise: float = 1e-2            # aOLS: std of the input noise
    lam: float = 10.0              # TR: λ (the paper: 10, sweep 1-1000)
    patience: int = 10             # ReduceLROnPlateau

    def __post_init__(self):
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"estimator {self.estimator!r} is invalid; allowed: "
                              f"{list(ESTIMATORS)}")
        if self.epochs < 1 or self.batch < 1 or not self.lr > 0:
            raise ConfigError(f"closure epochs={self.epochs}, batch={self.batch}, "
                              f"lr={self.lr} invalid; allowed: >= 1, >= 1, > 0")


def tr_coefficients(normals: torch.Tensor, drift: torch.Tensor, coupling_adjoint=None):
    """c_i = n_iᵀ a(u_i) and m_i = Bᵀ n_i for the velocity L(u, y) = a(u) + B y.

    ``normals``, ``drift`` : ``(N, ...)`` shaped like the states; ``coupling_adjoint``
    applies Bᵀ (identity when None: a map u_{k+1} = u_k + L with Δt = 1, as in
    the linear problem).  Returns ``(c : (N,), m : (N, ...))``.
    """
    c = (normals * drift).flatten(1).sum(1)
    m = normals if coupling_adjoint is None else coupling_adjoint(normals)
    return c, m


def _normal_velocity(c: torch.Tensor, m: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """n_iᵀ L(u_i, y_i) = c_i + m_iᵀ y_i per sample."""
    return c + (m * y).flatten(1).sum(1)


def tr_of_data(tr, y: torch.Tensor) -> float:
    """The TR term of the data themselves, mean_i (n_iᵀ L(u_i, y_i))².

    Zero when every normal is exactly normal to the data's own velocity (a
    manifold that contains the trajectories); the paper's remark that TR only
    helps once the autoencoder is accurate is this number being small.  λ times
    it is the TR loss of y itself; :func:`tr_floor` is the lowest TR loss.
    """
    return float(torch.mean(_normal_velocity(*tr, y) ** 2))


def tr_minimizer(tr, y: torch.Tensor, lam: float) -> torch.Tensor:
    """The output φ* that minimizes the TR loss of each sample, shaped like ``y``.

    Per sample the TR loss ||φ - y||² + λ (c + mᵀφ)² is a quadratic in the
    output φ; its minimizer solves the normal equations (I + λ m mᵀ) φ = y - λ c m,
    i.e. (Sherman–Morrison) φ* = y - λ d m / (1 + λ |m|²) with d = c + mᵀy the
    data's own normal velocity.  φ* = y exactly when d = 0 (normals exactly normal
    to the data's velocity); otherwise TR's best closure differs from the data.
    """
    c, m = tr
    md = m.double()
    d = _normal_velocity(c.double(), md, y.double())
    shape = (-1,) + (1,) * (y.dim() - 1)
    scale = lam * d / (1.0 + lam * (md ** 2).flatten(1).sum(1))
    return (y.double() - scale.view(shape) * md).to(y.dtype)


def tr_floor(tr, y: torch.Tensor, lam: float) -> tuple[float, float]:
    """The lowest TR loss any closure can reach on these pairs, and that closure's MSE:
    the loss and MSE of :func:`tr_minimizer`'s φ*, means over samples.

    A trained TR closure whose loss stays far above this floor is held back by
    its optimization: λ |m|² (1e5 for λ = 10, Δt = 0.01) is the stiffness of the
    penalty along m against 1 for the MSE.
    """
    c, m = tr
    yd = y.double()
    phi = tr_minimizer((c.double(), m.double()), yd, lam)
    mse = ((phi - yd) ** 2).flatten(1).sum(1)
    pen = _normal_velocity(c.double(), m.double(), phi) ** 2
    return float(torch.mean(mse + lam * pen)), float(torch.mean(mse))


def evaluate(model: torch.nn.Module, u: torch.Tensor, y: torch.Tensor, tr=None,
             lam: float = 0.0, batch: int = 256) -> dict:
    """The trained ``model``'s loss terms on the pairs, in eval mode (batch-norm
    running statistics, no aOLS noise): ``{"mse", "tr", "loss"}`` as means over
    samples; ``tr`` is 0 without ``tr = (c, m)``, ``loss = mse + lam tr``.  Runs on
    the model's device, a batch of the pairs at a time."""
    was_training = model.training
    model.eval()
    dev = _device_of(model)
    sq, pen = [], []
    with torch.no_grad():
        for start in range(0, u.shape[0], batch):
            part = slice(start, start + batch)
            pred = model(u[part].to(dev))
            sq.append(((pred - y[part].to(dev)) ** 2).flatten(1).sum(1).double().cpu())
            if tr is not None:
                c, m = tr
                pen.append(_normal_velocity(c[part].to(dev), m[part].to(dev),
                                            pred).double().cpu() ** 2)
    model.train(was_training)
    mse = float(torch.cat(sq).mean())
    term = float(torch.cat(pen).mean()) if pen else 0.0
    return {"mse": mse, "tr": term, "loss": mse + lam * term}


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def fit_closure(model: torch.nn.Module, u: torch.Tensor, y: torch.Tensor, spec: ClosureSpec,
                *, tr=None, seed: int = 0, log=print, checkpoint=None,
                checkpoint_every: int = 0, digest: str = "", device=None) -> dict:
    """Train ``model`` (u -> y) with ``spec.estimator``; returns the loss history.

    ``tr = (c, m)`` from :func:`tr_coefficients` is required for TR.  Shuffling,
    the aOLS noise and the initial weights are all seeded.  ``device`` (a
    ``torch.device`` or name; default: where the model is) is where the model,
    the pairs and the TR coefficients live while training; the model stays
    there.  The shuffling and the aOLS noise are drawn on the CPU, so every
    device sees the same batches and noise.  With ``checkpoint``
    (a path) the full training state is saved every ``checkpoint_every`` epochs
    and training resumes from it, giving the same weights as an uninterrupted run;
    ``digest`` names the settings, and a checkpoint with another is not resumed.
    """
    if spec.estimator == "tr" and tr is None:
        raise ConfigError("the TR estimator needs tr=(c, m) from tr_coefficients")
    dev = torch.device(device) if device is not None else _device_of(model)
    model.to(dev)
    u, y = u.to(dev), y.to(dev)
    if tr is not None:
        tr = tuple(t.to(dev) for t in tr)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr,
                           weight_decay=spec.weight_decay if spec.estimator == "mols" else 0.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=spec.patience)
    history = {"loss": [], "mse": [], "tr": []}
    n = u.shape[0]
    start_epoch = checkpoint_io.resume(checkpoint, model, opt, sched, gen, history, log,
                                       digest=digest, epochs=spec.epochs)
    report = max(1, spec.epochs // 20)
    for epoch in range(start_epoch, spec.epochs):
        inputs = u
        if spec.estimator == "aols":
            inputs = u + spec.noise * torch.randn(u.shape, generator=gen,
                                                  dtype=u.dtype).to(dev)
        order = torch.randperm(n, generator=gen).to(dev)
        sums = torch.zeros(3, dtype=torch.float64, device=dev)
        for start in range(0, n, spec.batch):
            idx = order[start:start + spec.batch]
            pred = model(inputs[idx])
            mse = torch.mean(((pred - y[idx]) ** 2).flatten(1).sum(1))
            pen = mse.new_zeros(())
            if spec.estimator == "tr":
                c, m = tr
                pen = torch.mean(_normal_velocity(c[idx], m[idx], pred) ** 2)
            loss = mse + spec.lam * pen if spec.estimator == "tr" else mse
            if not torch.isfinite(loss):
                raise TrainingDivergedError(f"closure {spec.estimator}: loss not finite at "
                                            f"epoch {epoch + 1}: mse={float(mse):.4g}, "
                                            f"tr={float(pen):.4g}")
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums += torch.stack([loss, mse, pen]).detach().double() * len(idx)
        loss, mse, pen = (sums / n).tolist()
        sched.step(loss)
        for key, val in zip(("loss", "mse", "tr"), (loss, mse, pen)):
            history[key].append(val)
        if (epoch + 1) % report == 0 or epoch + 1 == spec.epochs:
            log(f"{spec.estimator} epoch {epoch + 1}/{spec.epochs}: loss {loss:.4e} "
                f"(mse {mse:.4e}, tr {pen:.4e}), lr {opt.param_groups[0]['lr']:.1e}")
        if checkpoint is not None and checkpoint_every and (epoch + 1) % checkpoint_every == 0:
            checkpoint_io.save(checkpoint, model, opt, sched, gen, history, epoch + 1,
                               digest=digest)
    return history
