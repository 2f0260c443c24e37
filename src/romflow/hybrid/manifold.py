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

from romflow.errors import NotFittedError, TrainingDivergedError
from romflow.hybrid import checkpoint as checkpoint_io

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
            checkpoint_every: int = 0, digest: str = "") -> "Manifold":
        """Minimize the mean squared reconstruction error over ``states``.

        With ``checkpoint`` (a path) the training state is saved every
        ``checkpoint_every`` epochs and a rerun resumes from it if it was made
        with the same settings ``digest``.
        """
        gen = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.Adam(self.autoencoder.parameters(), lr=self.lr)
        history = {"loss": []}
        start = checkpoint_io.resume(checkpoint, self.autoencoder, opt, None, gen, history, log,
                                     digest=digest, epochs=self.epochs)
        report = max(1, self.epochs // 20)
        states = states.to(self.device)
        for epoch in range(start, self.epochs):
            order = torch.randperm(states.shape[0], generator=gen).to(self.device)
            total = 0.0
            for first in range(0, states.shape[0], self.batch):
                x = states[order[first:first + self.batch]]
                loss = torch.mean((self.autoencoder(x) - x) ** 2)
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(f"manifold autoencoder: reconstruction loss "
                                                f"not finite at epoch {epoch + 1}")
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * x.shape[0]
            history["loss"].append(total / states.shape[0])
            if (epoch + 1) % report == 0 or epoch + 1 == self.epochs:
                log(f"autoencoder epoch {epoch + 1}/{self.epochs}: "
                    f"loss {history['loss'][-1]:.4e}")
            if checkpoint is not None and checkpoint_every and (epoch + 1) % checkpoint_every == 0:
                checkpoint_io.save(checkpoint, self.autoencoder, opt, None, gen, history,
                                   epoch + 1, digest=digest)
        self.loss_ = history["loss"]
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
