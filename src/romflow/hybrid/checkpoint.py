"""Resumable training for the hybrid networks: save and restore the whole state.

A checkpoint holds the weights, the optimizer and scheduler state, the random
generator that shuffles (and draws aOLS noise) and the loss history, so a run
resumed from it gives the same weights as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

from romflow import io

__all__ = ["resume", "save"]


def resume(checkpoint, model, opt, sched, gen, history: dict, log=print) -> int:
    """Load ``checkpoint`` if it exists; returns the epoch to start at (0: fresh)."""
    if checkpoint is None or not Path(checkpoint).is_file():
        return 0
    state = io.load_model(checkpoint)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    if sched is not None:
        sched.load_state_dict(state["sched"])
    gen.set_state(state["gen"])
    for key in history:
        history[key][:] = state["history"][key]
    log(f"resumed from {checkpoint} at epoch {state['epoch']}")
    return int(state["epoch"])


def save(checkpoint, model, opt, sched, gen, history: dict, epoch: int) -> None:
    """Write the training state after ``epoch`` epochs (atomically)."""
    io.save_model({"model": model.state_dict(), "opt": opt.state_dict(),
                   "sched": None if sched is None else sched.state_dict(),
                   "gen": gen.get_state(), "epoch": epoch, "history": history}, checkpoint)
