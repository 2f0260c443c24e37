"""One training loop for every network of romflow (mLaSDI stages, hybrid closures and
manifold autoencoders).

A :class:`TrainingLoop` owns the module, its optimizer, an optional scheduler and
random generator, and the loss history.  :meth:`TrainingLoop.run` calls a
*step* function ``n`` times and

- stops with :class:`~romflow.errors.TrainingDivergedError`, naming the step and
  every loss term, when a loss is not finite (checked before the parameters
  move, so no weight and no checkpoint turns NaN) or when the total loss rises
  above ``divergence`` times its first value (a run that explodes without
  reaching inf, e.g. a learning rate far too large);
- keeps the lowest-loss iterate when ``keep="best"`` (GPLaSDI's code keeps it;
  ``"last"`` keeps the final one);
- writes a :class:`~romflow.checkpoint.Checkpoint` every ``checkpoint_every``
  steps, from which a killed run resumes to the same result bit for bit;
- shows progress (tqdm on stderr, the rule's log) every ``log_every`` steps.

Two kinds of step:

- ``full_batch=True``: ``step(loop, i)`` returns the loss terms ``(term,)`` with
  their graph, the total first; the loop checks them, records the best
  iterate, then takes one optimizer step on the total.
- ``full_batch=False``: ``step(loop, i)`` runs its own mini-batches, calling
  :meth:`TrainingLoop.update` on each loss, and returns the epoch's terms.

:meth:`TrainingLoop.state` / :meth:`TrainingLoop.restore` hold everything
needed to continue, so one run can be cut into segments (the iteration
checkpoints of a sweep) that give the same weights as one uninterrupted run.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import torch
from tqdm import tqdm

from romflow.errors import ConfigError, DataError, TrainingDivergedError

__all__ = ["KEEP", "TrainingLoop"]

KEEP = ("last", "best")


class _NotFinite(Exception):
    """Raised inside a step; the loop re-raises it with the step number."""


class TrainingLoop:
    """Optimizer, history and best iterate of one training.

    Parameters
    ----------
    module : torch.nn.Module
        The network whose parameters ``optimizer`` updates.
    optimizer : torch.optim.Optimizer
    terms : sequence of str
        Names of the loss terms a step returns, the total first.
    scheduler, generator : optional
        Saved and restored with the rest (``ReduceLROnPlateau``; the generator
        that shuffles batches or draws noise).
    keep : {"last", "best"}
    divergence : float
        Stop when the total exceeds ``divergence`` times its first value
        (``inf`` turns the check off).
    full_batch : bool
        Which kind of step :meth:`run` calls (module docstring).
    desc : str
        Names the training in progress bars and errors.
    unit : str
        What one step is called in messages ("epoch" for the hybrid networks).
    """

    def __init__(self, module, optimizer, terms, *, scheduler=None, generator=None,
                 keep: str = "last", divergence: float = 1e4, full_batch: bool = True,
                 desc: str = "training", log=print, unit: str = "step"):
        if keep not in KEEP:
            raise ConfigError(f"keep = {keep!r} is invalid; allowed: one of {list(KEEP)}")
        if not divergence > 1:
            raise ConfigError(f"divergence = {divergence!r} is invalid; allowed: a number > 1")
        self.module, self.optimizer = module, optimizer
        self.scheduler, self.generator = scheduler, generator
        self.terms = list(terms)
        self.keep, self.divergence, self.full_batch = keep, float(divergence), full_batch
        self.desc, self.log, self.unit = desc, log, unit
        self.iteration = 0
        self.history = np.zeros((0, len(self.terms)))
        self.start_loss = math.nan
        self.best_loss, self.best_iteration, self.best_state = math.inf, 0, None

    # -- state ---------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue this training (CPU tensors and plain data)."""
        return {
            "iteration": self.iteration,
            "module": {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "generator": None if self.generator is None else self.generator.get_state(),
            "history": torch.as_tensor(self.history),
            "start_loss": self.start_loss,
            "best_loss": self.best_loss, "best_iteration": self.best_iteration,
            "best_state": self.best_state,
        }

    def restore(self, state: dict) -> None:
        """Continue from :meth:`state`; raises ``DataError`` if it does not fit."""
        try:
            self.module.load_state_dict(state["module"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            if self.generator is not None:
                self.generator.set_state(state["generator"])
            history = np.asarray(state["history"], dtype=float).reshape(-1, len(self.terms))
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise DataError(f"{self.desc}: saved training state does not fit this "
                            f"network or optimizer: {exc}") from exc
        self.iteration = int(state["iteration"])
        self.history = history[: self.iteration]
        self.start_loss = float(state["start_loss"])
        self.best_loss = float(state["best_loss"])
        self.best_iteration = int(state["best_iteration"])
        self.best_state = state["best_state"]

    def kept_state(self) -> dict:
        """The module weights to keep: the best iterate's or the last (``keep``)."""
        if self.keep == "best" and self.best_state is not None:
            return self.best_state
        return {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()}

    def history_dict(self) -> dict:
        """``{term: array (iteration,)}`` of every step so far."""
        return {t: self.history[:, j].copy() for j, t in enumerate(self.terms)}

    # -- stepping ------------------------------------------------------------------------
    def update(self, loss: torch.Tensor, parts=None) -> None:
        """One optimizer step on ``loss``; ``_NotFinite`` (re-raised by :meth:`run` with
        the step) if it is not finite.  ``parts`` are the terms shown then."""
        if not torch.isfinite(loss.detach()).all():
            raise _NotFinite(self._terms_text(parts if parts is not None else [loss]))
        if self.iteration == 0 and math.isnan(self.start_loss):
            # the loss before the first optimizer step: a mini-batch epoch can explode
            # within its first epoch, so that epoch's mean is no reference
            self.start_loss = float(loss.detach())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def _terms_text(self, parts) -> str:
        values = [float(torch.as_tensor(p).detach()) for p in parts]
        names = self.terms if len(values) == len(self.terms) else self.terms[: len(values)]
        return ", ".join(f"{t}={v:.4g}" for t, v in zip(names, values))

    def _record_best(self, total: float) -> None:
        if self.keep == "best" and total < self.best_loss:
            self.best_loss, self.best_iteration = total, self.iteration + 1
            params = self.module.state_dict()
            if self.best_state is None:
                self.best_state = {k: v.detach().cpu().clone() for k, v in params.items()}
            else:
                for k, v in params.items():
                    self.best_state[k].copy_(v.detach())

    def run(self, step, n: int, *, checkpoint=None, checkpoint_every: int = 0,
            log_every: int = 0) -> "TrainingLoop":
        """Call ``step`` until ``n`` steps are done in all (resuming from ``checkpoint``,
        a :class:`~romflow.checkpoint.Checkpoint` entered by the caller)."""
        if checkpoint is not None:
            saved = checkpoint.load()
            if saved is not None and int(saved.get("iteration", n + 1)) > n:
                checkpoint.discard(f"it is {saved['iteration']} steps in, past this run's {n}")
                saved = None
            if saved is not None:
                try:
                    self.restore(saved)
                    self.log(f"{self.desc}: resumed from checkpoint {checkpoint.path} at {self.unit} "
                             f"{self.iteration}")
                except DataError as exc:
                    checkpoint.discard(str(exc))
        history = np.full((n, len(self.terms)), np.nan)
        history[: self.iteration] = self.history[: self.iteration]
        bar = tqdm(total=n, initial=self.iteration, desc=self.desc, file=sys.stderr,
                   mininterval=5, disable=not log_every)
        try:
            for i in range(self.iteration, n):
                try:
                    parts = step(self, i)
                    values = torch.stack([torch.as_tensor(p).detach().reshape(())
                                          .to("cpu", torch.float64) for p in parts])
                    if not torch.isfinite(values).all():
                        raise _NotFinite(self._terms_text(values))
                    total = float(values[0])
                    if self.full_batch:
                        self._record_best(total)
                        self.update(parts[0], values)
                    else:
                        self._record_best(total)
                except _NotFinite as exc:
                    raise TrainingDivergedError(f"{self.desc}: loss is not finite at {self.unit} "
                                                f"{i + 1} of {n}: {exc}") from None
                history[i] = values.numpy()
                if i == 0 and math.isnan(self.start_loss):
                    self.start_loss = total
                if total > self.divergence * self.start_loss > 0:
                    raise TrainingDivergedError(
                        f"{self.desc}: loss diverged at {self.unit} {i + 1} of {n}: {total:.4g} is "
                        f"more than {self.divergence:g} times its start {self.start_loss:.4g} "
                        f"({self._terms_text(values)}); lower the learning rate")
                self.iteration = i + 1
                self.history = history[: self.iteration]
                if log_every and (self.iteration % log_every == 0 or self.iteration == n):
                    bar.update(self.iteration - bar.n)
                    bar.set_postfix({self.terms[0]: f"{total:.3e}"}, refresh=False)
                if (checkpoint is not None and checkpoint_every
                        and self.iteration % checkpoint_every == 0 and self.iteration < n):
                    checkpoint.save(self.state())
        finally:
            bar.close()
        self.history = history[: self.iteration]
        return self
