"""Estimators of the unresolved part: OLS, mOLS, aOLS and tangent-space regularized (TR).

Hybrid-simulation paper, sections 3–4.  A surrogate φθ(u) ≈ y is trained on
pairs (u_i, y_i) by

    OLS   mean_i ||φθ(u_i) - y_i||²
    mOLS  the same with Adam weight decay
    aOLS  the same on inputs u_i + σ ξ, ξ ~ N(0, I) drawn afresh every epoch
    TR    the same + λ · (a penalty on the normal component, eq. 21 / 23)

with n_i = ∇F(u_i) the manifold normals (:mod:`romflow.hybrid.manifold`) and L
the hybrid velocity of eq. (2), u_{k+1} = u_k + Δt L(u_k, y_k).  Every resolved
step here is affine in the unresolved value, L(u, y) = a(u) + B y, so the TR
term only needs the precomputed scalars c_i = n_iᵀ a(u_i) and vectors
m_i = Bᵀ n_i: n_iᵀ L = c_i + m_iᵀ φθ(u_i), one dot product per sample.

The fit and the penalty are stated in one unit system (``units: rate``,
:mod:`romflow.hybrid.estimators`): a closure learns y / s, s the step's
``increment_scale`` (Δt for the coarse–fine correction, 1 for pairs that are
already rates), and the penalty sees m_i s, so both terms are velocities².
:class:`Closure` multiplies its output back by s, so a rollout always gets y.

A :class:`Closure` is an estimator object: ``fit`` returns it, ``save`` /
``load`` round-trip it; the TR penalty is a term (:class:`TangentPenalty`)
added to the fit, not a branch of the training loop.  All four share the
optimizer (Adam), the schedule (ReduceLROnPlateau on the epoch loss), the
epoch budget and :class:`romflow.training.TrainingLoop` (NaN and divergence
stops, resumable checkpoints).
"""

from __future__ import annotations

import torch

from romflow.checkpoint import Checkpoint
from romflow.errors import ConfigError
from romflow.hybrid.estimators import EstimatorSpec
from romflow.training import TrainingLoop

__all__ = ["TrainSettings", "TangentPenalty", "Closure", "tr_coefficients", "tr_of_data",
           "tr_minimizer", "tr_floor", "in_units", "evaluate"]


class TrainSettings:
    """Epoch budget, learning rate, batch size and scheduler patience of a closure."""

    def __init__(self, epochs: int = 100, lr: float = 1e-4, batch: int = 32,
                 patience: int = 10, divergence: float = 1e4):
        if int(epochs) < 1 or int(batch) < 1 or not lr > 0:
            raise ConfigError(f"closure epochs={epochs}, batch={batch}, lr={lr} invalid; "
                              "allowed: >= 1, >= 1, > 0")
        self.epochs, self.lr, self.batch = int(epochs), float(lr), int(batch)
        self.patience, self.divergence = int(patience), float(divergence)

    @classmethod
    def from_config(cls, cfg: dict) -> "TrainSettings":
        return cls(cfg["epochs"], cfg["lr"], cfg["batch"], cfg.get("patience", 10),
                   cfg.get("divergence", 1e4))


def tr_coefficients(normals: torch.Tensor, drift: torch.Tensor, coupling_adjoint=None):
    """c_i = n_iᵀ a(u_i) and m_i = Bᵀ n_i for the velocity L(u, y) = a(u) + B y.

    ``normals``, ``drift`` : ``(N, ...)`` shaped like the states; ``coupling_adjoint``
    applies Bᵀ (identity when None: a map u_{k+1} = u_k + L with Δt = 1, as in
    the linear problem).  Returns ``(c : (N,), m : (N, ...))``.
    """
    c = (normals * drift).flatten(1).sum(1)
    m = normals if coupling_adjoint is None else coupling_adjoint(normals)
    return c, m


def in_units(units: str, y: torch.Tensor, tr, scale: float):
    """Targets and TR coefficients in the unit system ``units``.

    ``rate``: targets y / s and m s (the normal velocity c + m s · (y / s) is
    unchanged); ``literal``: y and m as they are (the fit on the increment, the
    penalty on the velocity).  ``tr`` may be None (OLS, mOLS, aOLS)."""
    if units == "literal" or scale == 1.0:
        return y, tr
    if units != "rate":
        raise ConfigError(f"TR units = {units!r} is invalid; allowed: rate, literal")
    return y / scale, (None if tr is None else (tr[0], tr[1] * scale))


def _normal_velocity(c: torch.Tensor, m: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """n_iᵀ L(u_i, y_i) = c_i + m_iᵀ y_i per sample."""
    return c + (m * y).flatten(1).sum(1)


class TangentPenalty:
    """The TR term λ · P(φ) of a batch, added to the fit.

    ``c, m`` from :func:`tr_coefficients` (in the training's units); ``penalty =
    "output"`` drops the drift and the coupling (n_iᵀ φ_i, with ``normals`` the
    vectors dotted); ``reduce = "sample"`` averages (·)² over the batch,
    ``"batch"`` squares one normalized sum over the batch with weights
    ``weights`` (F(u_i): g_i = F_i n_i is the gradient of the reconstruction
    error)."""

    def __init__(self, c, m, lam: float, *, reduce: str = "sample", weights=None):
        self.c, self.m, self.lam, self.reduce = c, m, float(lam), reduce
        self.weights = weights
        if reduce == "batch" and weights is None:
            raise ConfigError("TR reduce = 'batch' needs the manifold distances F(u_i) as "
                              "weights")

    def to(self, device) -> "TangentPenalty":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return TangentPenalty(move(self.c), move(self.m), self.lam, reduce=self.reduce,
                              weights=move(self.weights))

    def term(self, pred: torch.Tensor, idx) -> torch.Tensor:
        """P(φ) of the samples ``idx`` (unweighted by λ)."""
        v = _normal_velocity(self.c[idx], self.m[idx], pred)
        if self.reduce == "sample":
            return torch.mean(v ** 2)
        w = self.weights[idx]
        norm = torch.sqrt(torch.sum(w ** 2 * (self.m[idx] ** 2).flatten(1).sum(1)))
        return (torch.sum(w * v) / norm.clamp_min(1e-300)) ** 2


def tr_of_data(tr, y: torch.Tensor) -> float:
    """The TR term of the data themselves, mean_i (n_iᵀ L(u_i, y_i))².

    Zero when every normal is exactly normal to the data's own velocity (a
    manifold that contains the trajectories); λ times it is the TR loss of y
    itself; :func:`tr_floor` is the lowest TR loss.
    """
    return float(torch.mean(_normal_velocity(*tr, y) ** 2))


def tr_minimizer(tr, y: torch.Tensor, lam: float) -> torch.Tensor:
    """The output φ* that minimizes the per-sample TR loss, shaped like ``y``.

    Per sample the TR loss ||φ - y||² + λ (c + mᵀφ)² is a quadratic in φ; its
    minimizer solves (I + λ m mᵀ) φ = y - λ c m, i.e. (Sherman–Morrison)
    φ* = y - λ d m / (1 + λ |m|²) with d = c + mᵀy the data's normal velocity.
    """
    c, m = tr
    md = m.double()
    d = _normal_velocity(c.double(), md, y.double())
    shape = (-1,) + (1,) * (y.dim() - 1)
    scale = lam * d / (1.0 + lam * (md ** 2).flatten(1).sum(1))
    return (y.double() - scale.view(shape) * md).to(y.dtype)


def tr_floor(tr, y: torch.Tensor, lam: float) -> tuple[float, float]:
    """The lowest per-sample TR loss any closure can reach on these pairs, and that
    closure's MSE (means over samples of :func:`tr_minimizer`'s φ*).  λ |m|² is the
    penalty's stiffness along m against 1 for the fit: in ``literal`` units it is
    1/Δt² times larger (1e5 for λ = 10, Δt = 0.01), in ``rate`` units λ."""
    c, m = tr
    yd = y.double()
    phi = tr_minimizer((c.double(), m.double()), yd, lam)
    mse = ((phi - yd) ** 2).flatten(1).sum(1)
    pen = _normal_velocity(c.double(), m.double(), phi) ** 2
    return float(torch.mean(mse + lam * pen)), float(torch.mean(mse))


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def evaluate(model: torch.nn.Module, u: torch.Tensor, y: torch.Tensor,
             penalty: TangentPenalty | None = None, batch: int = 256) -> dict:
    """The ``model``'s loss terms on the pairs, in eval mode (batch-norm running
    statistics, no aOLS noise): ``{"mse", "tr", "loss"}``, the TR term per sample
    (``reduce`` sample) whatever the training's reduction, ``loss = mse + λ tr``."""
    was_training = model.training
    model.eval()
    dev = _device_of(model)
    sq, pen = [], []
    with torch.no_grad():
        for start in range(0, u.shape[0], batch):
            part = slice(start, start + batch)
            pred = model(u[part].to(dev))
            sq.append(((pred - y[part].to(dev)) ** 2).flatten(1).sum(1).double().cpu())
            if penalty is not None:
                pen.append(_normal_velocity(penalty.c[part].to(dev), penalty.m[part].to(dev),
                                            pred).double().cpu() ** 2)
    model.train(was_training)
    mse = float(torch.cat(sq).mean())
    term = float(torch.cat(pen).mean()) if pen else 0.0
    lam = penalty.lam if penalty is not None else 0.0
    return {"mse": mse, "tr": term, "loss": mse + lam * term}


class _Scaled(torch.nn.Module):
    """A net that learned y / s, giving y."""

    def __init__(self, net: torch.nn.Module, scale: float):
        super().__init__()
        self.net, self.scale = net, float(scale)

    def forward(self, u):
        out = self.net(u)
        return out if self.scale == 1.0 else out * self.scale


class Closure:
    """One estimator's surrogate: ``Closure(spec, net, scale).fit(u, y, ...)``.

    ``spec`` (:class:`~romflow.hybrid.estimators.EstimatorSpec`) names the base and
    its settings; ``net`` maps states to the unresolved part in the training's
    units (y / ``scale`` under TR ``units: rate`` — and for every base, so the
    four are trained on the same targets); ``scale`` is the step's
    ``increment_scale``.  After :meth:`fit`, :attr:`module` maps u to y.
    """

    def __init__(self, spec: EstimatorSpec, net: torch.nn.Module, scale: float = 1.0):
        self.spec, self.net = spec, net
        self.scale = float(scale) if spec.units == "rate" else 1.0
        self.history_ = None

    @property
    def module(self) -> torch.nn.Module:
        return _Scaled(self.net, self.scale).eval().requires_grad_(False)

    def targets(self, y: torch.Tensor, tr=None):
        """``(targets, tr)`` in the training's units (:func:`in_units`)."""
        return in_units(self.spec.units, y, tr, self.scale)

    def penalty(self, tr, normals=None, distances=None) -> TangentPenalty | None:
        """The TR term of this estimator (None unless its base is tr), from the
        coefficients ``tr`` in training units; ``penalty: output`` uses ``normals``."""
        if self.spec.base != "tr":
            return None
        if tr is None:
            raise ConfigError(f"estimator {self.spec.name!r}: TR needs tr=(c, m) from "
                              "tr_coefficients")
        c, m = tr
        if self.spec.penalty == "output":
            if normals is None:
                raise ConfigError("TR penalty = 'output' needs the normals")
            c, m = torch.zeros_like(c), normals
        return TangentPenalty(c, m, self.spec.lam, reduce=self.spec.reduce, weights=distances)

    def fit(self, u: torch.Tensor, targets: torch.Tensor, settings: TrainSettings, *,
            penalty: TangentPenalty | None = None, noise_std: float = 0.0, seed: int = 0,
            checkpoint=None, checkpoint_every: int = 0, digest: str = "", log=print,
            device=None) -> "Closure":
        """Train on ``(u, targets)`` (targets from :meth:`targets`).

        Shuffling, the aOLS noise (std ``noise_std``, absolute) and the initial
        weights are seeded and drawn on the CPU, so every device sees the same
        batches.  With ``checkpoint`` (a path) the training state is saved every
        ``checkpoint_every`` epochs under binding ``digest`` and a rerun resumes
        from it to the same weights; a loss that is not finite or rises above
        ``settings.divergence`` times its first epoch stops training with
        :class:`~romflow.errors.TrainingDivergedError` naming the epoch and terms.
        """
        spec, net = self.spec, self.net
        dev = torch.device(device) if device is not None else _device_of(net)
        net.to(dev)
        u, y = u.to(dev), targets.to(dev)
        pen = penalty.to(dev) if penalty is not None else None
        gen = torch.Generator().manual_seed(int(seed))
        opt = torch.optim.Adam(net.parameters(), lr=settings.lr,
                               weight_decay=spec.weight_decay if spec.base == "mols" else 0.0)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=settings.patience)
        loop = TrainingLoop(net, opt, ["loss", "mse", "tr"], scheduler=sched, generator=gen,
                            keep="last", divergence=settings.divergence, full_batch=False, unit="epoch",
                            desc=f"closure {spec.name}", log=log)
        n = u.shape[0]
        report = max(1, settings.epochs // 20)

        def epoch(lp: TrainingLoop, i: int):
            inputs = u
            if spec.base == "aols":
                inputs = u + noise_std * torch.randn(u.shape, generator=gen,
                                                     dtype=u.dtype).to(dev)
            order = torch.randperm(n, generator=gen).to(dev)
            sums = torch.zeros(3, dtype=torch.float64, device=dev)
            for start in range(0, n, settings.batch):
                idx = order[start:start + settings.batch]
                pred = net(inputs[idx])
                mse = torch.mean(((pred - y[idx]) ** 2).flatten(1).sum(1))
                term = pen.term(pred, idx) if pen is not None else mse.new_zeros(())
                loss = mse + pen.lam * term if pen is not None else mse
                lp.update(loss, (loss, mse, term))
                sums += torch.stack([loss, mse, term]).detach().double() * len(idx)
            loss, mse, term = (sums / n).tolist()
            sched.step(loss)
            if (i + 1) % report == 0 or i + 1 == settings.epochs:
                log(f"{spec.name} epoch {i + 1}/{settings.epochs}: loss {loss:.4e} "
                    f"(mse {mse:.4e}, tr {term:.4e}), lr {opt.param_groups[0]['lr']:.1e}")
            return loss, mse, term

        if checkpoint is not None:
            with Checkpoint(checkpoint, digest, log=log) as ckpt:
                loop.run(epoch, settings.epochs, checkpoint=ckpt,
                         checkpoint_every=checkpoint_every)
        else:
            loop.run(epoch, settings.epochs)
        self.history_ = loop.history_dict()
        return self

    def save(self) -> dict:
        """Plain state for :func:`romflow.io.save_model` (weights on the CPU)."""
        return {"weights": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
                "estimator": self.spec.name, "settings": self.spec.settings(),
                "scale": self.scale}

    @classmethod
    def load(cls, state: dict, net: torch.nn.Module) -> "Closure":
        """The closure saved by :meth:`save` on the network ``net`` (same architecture)."""
        settings = dict(state["settings"])
        spec = EstimatorSpec(name=state["estimator"], **settings)
        out = cls(spec, net, state.get("scale", 1.0))
        out.scale = float(state.get("scale", 1.0))
        net.load_state_dict(state["weights"])
        net.eval().requires_grad_(False)
        return out
