"""The data manifold: an autoencoder, the distance F(u) and its normals ∇F(u).

Hybrid-simulation paper, section 3.2: a convolutional autoencoder (E, D) is
trained on all states of a case and frozen; F(u) = ||u - D(E(u))||₂ measures
how far a state is from the manifold of the training data (the distribution-
shift measure plotted along rollouts), and ∇F(u) is normal to that manifold
at u.  The TR estimator penalizes the component of the hybrid velocity along
∇F; since only training states need it, the normals are computed once.
"""

from __future__ import annotations

import torch

from romflow.checkpoint import Checkpoint
from romflow.errors import NotFittedError
from romflow.training import TrainingLoop

__all__ = ["distance", "normals", "Manifold"]


def distance(autoencoder, u: torch.Tensor) -> torch.Tensor:
    """F(u) = ||u - D(E(u))||₂ per sample: ``u : (batch, ...)`` -> ``(batch,)``."""
    return (u - autoencoder(u)).flatten(1).norm(dim=1)


def normals(autoencoder, u: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """∇_u F(u) per sample (autograd), shaped like ``u``; computed in batches.

    Samples are independent (no batch statistics in the network), so the
    gradient of the summed distances is the stack of per-sample gradients.
    """
    out = []
    for start in range(0, u.shape[0], batch):
        x = u[start:start + batch].detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(distance(autoencoder, x).sum(), x)
        out.append(grad)
    return torch.cat(out)


class Manifold:
    """Estimator wrapper: ``fit(states)`` trains the autoencoder; then ``distance``
    and ``normals``.  ``autoencoder`` is any module mapping states to states.

    ``device`` (default: the CPU) is where the autoencoder trains and evaluates;
    states come in and results go out on the CPU.  The shuffling is drawn on the
    CPU, so every device sees the same batches."""

    def __init__(self, autoencoder: torch.nn.Module, *, epochs: int = 100, lr: float = 1e-3,
                 batch: int = 32, seed: int = 0, device="cpu"):
        self.device = torch.device(device)
        self.autoencoder = autoencoder.to(self.device)
        self.epochs, self.lr, self.batch, self.seed = epochs, lr, batch, seed

    def fit(self, states: torch.Tensor, log=print, checkpoint=None,
            checkpoint_every: int = 0, digest: str = "", divergence: float = 1e4) -> "Manifold":
        """Minimize the mean squared reconstruction error over ``states``.

        With ``checkpoint`` (a path) the training state is saved every
        ``checkpoint_every`` epochs under binding ``digest`` and a rerun resumes
        from it (:class:`romflow.checkpoint.Checkpoint`); a loss that is not
        finite or rises above ``divergence`` times its first epoch stops training
        (:class:`romflow.training.TrainingLoop`).
        """
        gen = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.Adam(self.autoencoder.parameters(), lr=self.lr)
        loop = TrainingLoop(self.autoencoder, opt, ["loss"], generator=gen, keep="last",
                            divergence=divergence, full_batch=False, unit="epoch",
                            desc="manifold autoencoder", log=log)
        report = max(1, self.epochs // 20)
        states = states.to(self.device)

        def epoch(lp, i):
            order = torch.randperm(states.shape[0], generator=gen).to(self.device)
            total = 0.0
            for first in range(0, states.shape[0], self.batch):
                x = states[order[first:first + self.batch]]
                loss = torch.mean((self.autoencoder(x) - x) ** 2)
                lp.update(loss)
                total += float(loss.detach()) * x.shape[0]
            total /= states.shape[0]
            if (i + 1) % report == 0 or i + 1 == self.epochs:
                log(f"autoencoder epoch {i + 1}/{self.epochs}: loss {total:.4e}")
            return (total,)

        if checkpoint is not None:
            with Checkpoint(checkpoint, digest, log=log) as ckpt:
                loop.run(epoch, self.epochs, checkpoint=ckpt, checkpoint_every=checkpoint_every)
        else:
            loop.run(epoch, self.epochs)
        self.loss_ = list(loop.history_dict()["loss"])
        self.autoencoder.eval()
        return self

    def _require_fit(self):
        if not hasattr(self, "loss_"):
            raise NotFittedError("Manifold: call fit(states) first")

    def distance(self, u: torch.Tensor) -> torch.Tensor:
        self._require_fit()
        with torch.no_grad():
            return distance(self.autoencoder, u.to(self.device)).cpu()

    def normals(self, u: torch.Tensor) -> torch.Tensor:
        self._require_fit()
        return normals(self.autoencoder, u.to(self.device)).cpu()
