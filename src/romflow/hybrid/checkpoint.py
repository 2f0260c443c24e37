"""Resumable training for the hybrid networks: save and restore the whole state.

A checkpoint holds the weights, the optimizer and scheduler state, the random
generator that shuffles (and draws aOLS noise) and the loss history, so a run
resumed from it gives the same weights as an uninterrupted one.  It also holds
the digest of the settings that made it: a checkpoint left by a run with other
settings (another λ, learning rate, training split...) or past the epoch budget
is ignored, never resumed.
"""

from __future__ import annotations

from pathlib import Path

from romflow import io

__all__ = ["resume", "save"]


def resume(checkpoint, model, opt, sched, gen, history: dict, log=print, *, digest: str = "",
           epochs: int | None = None) -> int:
    """Load ``checkpoint`` if it exists and was made with settings ``digest`` at most
    ``epochs`` epochs in; returns the epoch to start at (0: fresh)."""
    if checkpoint is None or not Path(checkpoint).is_file():
        return 0
    state = io.load_model(checkpoint)
    if state.get("digest", "") != digest or (epochs is not None and state["epoch"] > epochs):
        log(f"ignoring checkpoint {checkpoint}: made with other settings (digest "
            f"{state.get('digest', '')!r}, epoch {state['epoch']}; this run: {digest!r}, "
            f"{epochs} epochs); training from the start")
        return 0
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    if sched is not None:
        sched.load_state_dict(state["sched"])
    gen.set_state(state["gen"])
    for key in history:
        history[key][:] = state["history"][key]
    log(f"resumed from {checkpoint} at epoch {state['epoch']}")
    return int(state["epoch"])


def save(checkpoint, model, opt, sched, gen, history: dict, epoch: int, *,
         digest: str = "") -> None:
    """Write the training state after ``epoch`` epochs (atomically)."""
    io.save_model({"model": model.state_dict(), "opt": opt.state_dict(),
                   "sched": None if sched is None else sched.state_dict(),
                   "gen": gen.get_state(), "epoch": epoch, "history": history,
                   "digest": digest}, checkpoint)
