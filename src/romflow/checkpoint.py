"""Resumable training state on disk, bound to what made it.

A checkpoint holds what a training loop needs to continue bit for bit (weights,
optimizer, scheduler and generator state, loss history, best iterate) and a
*binding*: the digest of the training's settings and of its inputs'
provenance (:func:`binding`).  It is resumed only by a job with the same
binding.  One left by other settings or other inputs, one that cannot be read
(truncated, garbage, from another torch) and one that no longer fits the
network (``size mismatch``) is discarded with a warning and training starts
over: a checkpoint is not a declared output, so nothing else would ever clear
it and its rule would fail on every rerun.

Writes go to a per-process temporary name and are renamed into place
(:func:`romflow.io.save_model`), and the
file is guarded by an advisory lock (``fcntl.flock`` on ``<path>.lock``) held
while the training runs.  A second process that trains into the same
checkpoint (a job left running after its Snakemake parent was killed, then the
same job started again after ``--unlock``) stops with
:class:`~romflow.errors.CheckpointBusyError` naming the process that holds it,
instead of interleaving writes.  The lock dies with its process, so a killed
job never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from romflow import io
from romflow.errors import CheckpointBusyError, DataError

__all__ = ["binding", "Checkpoint"]


def binding(settings, *inputs) -> str:
    """Digest of ``settings`` and of the provenance of ``inputs``.

    ``inputs`` are the datasets and model states the training reads; each
    contributes its ``config_digest`` (what made it, upstream included) and its
    ``created`` stamp, so a checkpoint made before an input was regenerated is
    never resumed against the new one, even with the same settings.
    """
    return io.config_digest({"settings": settings,
                             "inputs": [list(io.lineage(x)) for x in inputs]})


class Checkpoint:
    """The checkpoint file ``path`` of one training with binding ``digest``.

    Use as a context manager around the training: entering takes the lock,
    leaving releases it.  :meth:`load` returns the saved state or ``None``,
    :meth:`save` writes one atomically, :meth:`discard` removes it.
    """

    def __init__(self, path, digest: str, log=print):
        self.path = Path(path)
        self.digest = digest
        self.log = log
        self._lock = None

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def __enter__(self) -> "Checkpoint":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.lock_path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise CheckpointBusyError(
                f"{self.path}: another process (pid {holder}) is training into this "
                "checkpoint; wait for it or stop it (kill <pid>), then rerun") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock = fh
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self.lock_path.unlink(missing_ok=True)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def load(self) -> dict | None:
        """The saved state, or ``None`` (none saved, unreadable, or other binding)."""
        if not self.path.is_file():
            return None
        try:
            state = io.load_model(self.path)
        except DataError as exc:
            self.discard(f"it cannot be read ({exc})")
            return None
        if not isinstance(state, dict) or state.get("binding") != self.digest:
            got = state.get("binding") if isinstance(state, dict) else None
            self.discard(f"it was made with other settings or inputs (binding {got!r}, "
                         f"this job {self.digest!r})")
            return None
        return state

    def save(self, state: dict) -> None:
        """Write ``state`` (with this binding) atomically."""
        io.save_model({**state, "binding": self.digest}, self.path)

    def discard(self, why: str = "") -> None:
        """Remove the file, warning with ``why`` when given."""
        if why:
            self.log(f"WARNING: discarding checkpoint {self.path}: {why}; training starts "
                     "from the beginning")
        self.path.unlink(missing_ok=True)
