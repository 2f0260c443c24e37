"""Reference rollouts of the FitzHugh–Nagumo hybrid problem: how accurate must a closure be?

Relative error ||û_k - u_k|| / ||u_k|| at steps 1, 50, 200 and 1000 of one fine
trajectory (γ, N = 64, the pipeline's warm-up and dt) for rollouts that need no
training:

- ``fine, start perturbed by eps``: the fine solver from u_0 + eps-sized noise
  (how strongly the true dynamics amplify or damp an error);
- ``exact closure + eps noise``: the hybrid step with y(u) exact plus white
  noise of relative size eps every step (a closure with eps error, no bias);
- ``coarse only (y = 0)``: the resolved step alone;
- ``sub-grid detail only``: y = (1 - I R) u, the closure's fixed skip path
  (``closure.skip: subgrid``) with the learned O(Δt) remainder set to zero.

A learned closure whose rollout is worse than ``coarse only`` is worse than no
closure.  Writes ``results/benchmarks/rd_rollout_references.csv``.

    python benchmarks/rd_rollout_references.py [--gamma 0.05]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from romflow import tables
from romflow.fom import reaction_diffusion as rd
from romflow.hybrid.networks import subgrid_detail
from romflow.hybrid.simulate import CorrectionStep, rollout

ROOT = Path(__file__).resolve().parents[1]
STEPS = (1, 50, 200, 1000)


def _noise(x, eps, gen):
    """White noise with ||noise|| = eps ||x|| per sample."""
    xi = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    return eps * xi * (x.flatten(1).norm(dim=1) / xi.flatten(1).norm(dim=1)).view(-1, 1, 1, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gamma", type=float, default=0.05)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/rd_rollout_references.csv"))
    args = ap.parse_args()
    dt = 0.01
    ds = rd.solve(args.gamma, args.grid, trajectories=1, steps=max(STEPS), warmup=200, dt=dt,
                  seed=args.seed)
    ref = torch.as_tensor(ds["u"].values[0], dtype=torch.float64)
    step = CorrectionStep(dt, args.gamma)
    gen = torch.Generator().manual_seed(args.seed + 1)
    runs = {}
    for eps in (1e-3, 1e-2):
        start = ref[:1] + _noise(ref[:1], eps, gen)
        traj = rd.simulate(start[0], max(STEPS), dt, args.gamma)
        runs[f"fine, start perturbed by {eps:g}"] = (traj - ref).flatten(1).norm(dim=1) \
            / ref.flatten(1).norm(dim=1)

        def noisy(u, e=eps):
            y = step.exact(u)
            return y + _noise(y, e, gen)

        out = rollout(step, noisy, ref)
        runs[f"exact closure + {eps:g} noise"] = out["rel_error"]
    runs["coarse only (y = 0)"] = rollout(step, torch.zeros_like, ref)["rel_error"]
    runs["sub-grid detail only (y = (1 - I R) u)"] = rollout(step, subgrid_detail,
                                                             ref)["rel_error"]
    rows = [{"gamma": args.gamma, "grid": args.grid, "rollout": name,
             **{f"rel_error_step{k}": float(err[k]) for k in STEPS}}
            for name, err in runs.items()]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    tables.write_csv(table, args.out)


if __name__ == "__main__":
    main()
