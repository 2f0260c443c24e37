"""Tests of romflow.training and romflow.checkpoint: the one training loop and its
checkpoints (resume bit for bit, NaN and divergence stops, the kept iterate, segments,
stale / corrupt / mismatched checkpoints discarded, one writer at a time)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from romflow import io
from romflow.checkpoint import Checkpoint, binding
from romflow.errors import CheckpointBusyError, TrainingDivergedError
from romflow.training import TrainingLoop

TERMS = ["total", "a", "b"]


def plain_problem(seed=0, lr=1e-2):
    """A small regression: a loop, a full-batch step and the module."""
    torch.manual_seed(seed)
    net = torch.nn.Linear(4, 2)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(10, 4, generator=gen), torch.randn(10, 2, generator=gen)

    def step(_loop, _i):
        err = net(x) - y
        a, b = err[:, 0].pow(2).mean(), err[:, 1].pow(2).mean()
        return a + b, a, b

    loop = TrainingLoop(net, torch.optim.Adam(net.parameters(), lr=lr), TERMS, log=quiet)
    return loop, step, net


def quiet(*_args, **_kwargs):
    """Drops log messages."""


class Interrupt:
    """Wraps a step; raises KeyboardInterrupt at step number ``at`` (1-based)."""

    def __init__(self, step, at):
        self.step, self.at = step, at

    def __call__(self, loop, i):
        if i + 1 == self.at:
            raise KeyboardInterrupt
        return self.step(loop, i)


def same_weights(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key].cpu(), b[key].cpu()), f"parameter {key} differs"


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    path = tmp_path / "run.ckpt"
    loop, step, _ = plain_problem()
    with Checkpoint(path, "d", log=quiet) as ckpt, pytest.raises(KeyboardInterrupt):
        loop.run(Interrupt(step, 25), 30, checkpoint=ckpt, checkpoint_every=10)
    assert io.load_model(path)["iteration"] == 20

    resumed, step, net = plain_problem(seed=123)   # another init: the checkpoint wins
    messages = []
    resumed.log = messages.append
    with Checkpoint(path, "d", log=messages.append) as ckpt:
        resumed.run(step, 30, checkpoint=ckpt, checkpoint_every=10)
    assert any("resumed from checkpoint" in m and "step 20" in m for m in messages), messages

    reference, step, ref_net = plain_problem()
    reference.run(step, 30)
    same_weights(net.state_dict(), ref_net.state_dict())
    assert np.array_equal(resumed.history, reference.history)
    assert resumed.history.shape == (30, 3)


@pytest.mark.parametrize("content", [b"", b"not a torch file at all", b"PK\x03\x04garbage"])
def test_an_unreadable_checkpoint_is_discarded_with_a_warning(tmp_path, content):
    """Issue: a garbage .ckpt failed every rerun of its rule; -f / -R do not help
    because the checkpoint is no declared output."""
    path = tmp_path / "run.ckpt"
    path.write_bytes(content)
    loop, step, net = plain_problem()
    messages = []
    with Checkpoint(path, "d", log=messages.append) as ckpt:
        loop.run(step, 5, checkpoint=ckpt, checkpoint_every=2)
    assert any("WARNING: discarding checkpoint" in m and "cannot be read" in m
               for m in messages), messages
    reference, step, ref_net = plain_problem()
    reference.run(step, 5)
    same_weights(net.state_dict(), ref_net.state_dict())


def test_a_checkpoint_that_no_longer_fits_the_network_is_discarded(tmp_path):
    """Issue: one left before toy.fom.nx changed failed with 'size mismatch'."""
    path = tmp_path / "run.ckpt"
    torch.manual_seed(0)
    other = torch.nn.Linear(7, 2)
    old = TrainingLoop(other, torch.optim.Adam(other.parameters()), TERMS)
    Checkpoint(path, "d").save(old.state())
    loop, step, net = plain_problem()
    messages = []
    with Checkpoint(path, "d", log=messages.append) as ckpt:
        loop.run(step, 5, checkpoint=ckpt, checkpoint_every=2)
    assert any("does not fit" in m and "size mismatch" in m for m in messages), messages
    assert loop.iteration == 5


def test_a_checkpoint_of_other_settings_or_inputs_is_discarded(tmp_path):
    path = tmp_path / "run.ckpt"
    loop, step, _ = plain_problem()
    with Checkpoint(path, "old", log=quiet) as ckpt, pytest.raises(KeyboardInterrupt):
        loop.run(Interrupt(step, 15), 30, checkpoint=ckpt, checkpoint_every=5)
    fresh, step, net = plain_problem()
    messages = []
    with Checkpoint(path, "new", log=messages.append) as ckpt:
        fresh.run(step, 30, checkpoint=ckpt, checkpoint_every=5)
    assert any("other settings or inputs" in m for m in messages), messages
    reference, step, ref_net = plain_problem()
    reference.run(step, 30)
    same_weights(net.state_dict(), ref_net.state_dict())


def test_binding_covers_settings_and_the_inputs_provenance():
    import xarray as xr

    a = xr.Dataset(attrs={"config_digest": "abc", "created": "2026-01-01T00:00:00Z"})
    b = xr.Dataset(attrs={"config_digest": "abc", "created": "2026-01-02T00:00:00Z"})
    c = xr.Dataset(attrs={"config_digest": "abd", "created": "2026-01-01T00:00:00Z"})
    assert binding({"lr": 1}, a) == binding({"lr": 1}, a)
    assert len({binding({"lr": 1}, a), binding({"lr": 2}, a), binding({"lr": 1}, b),
                binding({"lr": 1}, c)}) == 4
    # a file's config_digest covers its inputs' digests, never their creation stamps
    assert io.upstream_digest({"lr": 1}, a) == io.upstream_digest({"lr": 1}, b)
    assert io.upstream_digest({"lr": 1}, a) != io.upstream_digest({"lr": 1}, c)


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    """Issue: after Snakemake's parent is killed the training child runs on; a rerun
    after --unlock started a second writer of the same checkpoint."""
    path = tmp_path / "run.ckpt"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from romflow.checkpoint import Checkpoint
        with Checkpoint({str(path)!r}, "d"):
            print("locked", flush=True)
            time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointBusyError, match=rf"pid {holder.pid}\b.*kill"):
            with Checkpoint(path, "d"):
                pass
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    with Checkpoint(path, "d"):     # the lock died with its process
        pass


def test_nan_stops_before_the_step_naming_it_and_every_term(tmp_path):
    path = tmp_path / "run.ckpt"
    loop, step, net = plain_problem()

    def nan_at_7(lp, i):
        total, a, b = step(lp, i)
        return (total * np.nan, a, b * np.nan) if i + 1 >= 7 else (total, a, b)

    with Checkpoint(path, "d") as ckpt, pytest.raises(
            TrainingDivergedError, match=r"not finite at step 7 of 30: total=nan, a=.*, b=nan"):
        loop.run(nan_at_7, 30, checkpoint=ckpt, checkpoint_every=2)
    assert loop.iteration == 6
    assert all(torch.isfinite(p).all() for p in net.parameters())
    saved = io.load_model(path)
    assert all(torch.isfinite(v).all() for v in saved["module"].values())


def test_a_loss_far_above_its_start_stops_with_the_step():
    """Issue: rd.hybrid.closure.lr = 1000 exited 0 with a loss of 1e18."""
    loop, step, _ = plain_problem(lr=1e3)
    with pytest.raises(TrainingDivergedError, match=r"diverged at step \d+ of 200: .* more "
                                                    r"than 10000 times its start"):
        loop.run(step, 200)
    assert loop.history[:, 0].max() < 1e4 * loop.start_loss


def test_keep_best_keeps_the_lowest_loss_iterate():
    """GPLaSDI's gplasdi.py keeps the iterate of the lowest total loss, not the last."""
    loop, step, net = plain_problem(lr=0.3)     # Adam at a large rate oscillates
    loop.keep = "best"
    loop.run(step, 60)
    totals = loop.history[:, 0]
    assert loop.best_iteration == int(np.argmin(totals)) + 1 < 60
    probe, probe_step, probe_net = plain_problem()
    probe_net.load_state_dict(loop.kept_state())
    assert float(probe_step(probe, 0)[0].detach()) == pytest.approx(totals.min(), rel=1e-6)


def test_segments_continue_one_run_bit_for_bit():
    """A sweep's iteration counts are checkpoints of one run: 0->20 then 20->40 from the
    saved state equals 0->40."""
    first, step, _ = plain_problem()
    first.keep = "best"
    first.run(step, 20)
    state = first.state()
    second, step, net = plain_problem(seed=9)
    second.keep = "best"
    second.restore(state)
    second.run(step, 40)
    whole, step, ref = plain_problem()
    whole.keep = "best"
    whole.run(step, 40)
    same_weights(net.state_dict(), ref.state_dict())
    same_weights(second.kept_state(), whole.kept_state())
    assert np.array_equal(second.history, whole.history)


def test_minibatch_steps_update_inside_and_report_the_epoch():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    loop = TrainingLoop(net, torch.optim.SGD(net.parameters(), lr=0.05), ["loss"],
                        full_batch=False)

    def epoch(lp, i):
        total = 0.0
        for part in (slice(0, 8), slice(8, 16)):
            loss = (net(x[part]) - y[part]).pow(2).mean()
            lp.update(loss)
            total += float(loss.detach()) / 2
        return (torch.tensor(total),)

    loop.run(epoch, 10)
    assert loop.history[-1, 0] < loop.history[0, 0]

    def bad(lp, i):
        lp.update(torch.tensor(float("inf"), requires_grad=True))
        return (torch.tensor(0.0),)

    with pytest.raises(TrainingDivergedError, match="not finite at step 11 of 12"):
        loop.run(bad, 12)
