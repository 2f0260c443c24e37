"""Benchmark: seconds per training epoch of the four closure estimators, in one run.

FitzHugh–Nagumo coarse–fine pairs at the paper's fine grid N = 64 (γ = 0.05),
the U-Net surrogate of config.yaml with its sub-grid skip, precomputed manifold
normals (random unit fields here: the cost does not depend on their values).  The
ratio TR / OLS is the number the TR design is judged by (the penalty is one dot
product per sample).  ``paper_closure_hours`` scales OLS's time per sample to the
paper's budget for one closure at N = 64 (9 training trajectories of 1000 steps,
5000 epochs); measure it with the paper's batch (``--batch 1000 --samples 1000``).
Writes ``results/benchmarks/hybrid_closures.csv``.

    python benchmarks/hybrid_closures.py [--samples 256] [--epochs 3] [--device cuda]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from romflow import tables
from romflow.device import resolve_device, set_threads
from romflow.fom import reaction_diffusion as rd
from romflow.hybrid.closures import Closure, TrainSettings, tr_coefficients
from romflow.hybrid.estimators import BASES, EstimatorSpec
from romflow.hybrid.factory import surrogate
from romflow.hybrid.simulate import CorrectionStep

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (4, 8, 16, 16, 32)  # config.yaml rd.hybrid.closure (the paper's appendix)
PAPER_PAIRS, PAPER_EPOCHS = 9 * 1000, 5000  # rd, N = 64: 9 of 10 trajectories, every step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/hybrid_closures.csv"))
    args = ap.parse_args()
    set_threads(args.threads)
    device = resolve_device(args.device)
    ds = rd.solve(0.05, args.grid, trajectories=1, steps=args.samples, warmup=200)
    u = torch.as_tensor(ds["u"].values[0, :-1])
    y = torch.as_tensor(ds["unresolved"].values[0, :-1])
    n = torch.randn_like(u)
    n /= n.flatten(1).norm(dim=1)[:, None, None, None]
    step = CorrectionStep(0.01, 0.05)
    tr = tr_coefficients(n, step.drift(u.double()).float(), step.coupling_adjoint)

    def seconds_per_epoch(est, epochs):
        torch.manual_seed(0)
        spec = EstimatorSpec(est, est, lam=10.0 if est == "tr" else 0.0,
                             noise=0.01 if est == "aols" else 0.0,
                             weight_decay=1e-3 if est == "mols" else 0.0)
        closure = Closure(spec, None, step.increment_scale)
        targets, tr_units = closure.targets(y, tr)
        closure.net = surrogate(ds, WIDTHS, "subgrid", batchnorm=True, u=u, y=targets,
                                scale=closure.scale)
        t0 = time.perf_counter()
        closure.fit(u, targets, TrainSettings(epochs, 1e-4, args.batch),
                    penalty=closure.penalty(tr_units), noise_std=spec.noise,
                    log=lambda *_: None, device=device)
        return (time.perf_counter() - t0) / epochs

    seconds_per_epoch("ols", 1)  # warm-up: allocator and kernel caches, untimed
    rows = []
    for est in BASES:
        best = min(seconds_per_epoch(est, args.epochs) for _ in range(2))
        rows.append({"benchmark": f"{est}_seconds_per_epoch", "value": best, "unit": "s"})
    per = {r["benchmark"].split("_")[0]: r["value"] for r in rows}
    rows.append({"benchmark": "tr_over_ols_ratio", "value": per["tr"] / per["ols"], "unit": "1"})
    rows.append({"benchmark": "paper_closure_hours", "unit": "h",
                 "value": per["ols"] / args.samples * PAPER_PAIRS * PAPER_EPOCHS / 3600})
    table = pd.DataFrame(rows).assign(grid=args.grid, samples=args.samples, batch=args.batch,
                                      threads=args.threads, device=str(device),
                                      torch=torch.__version__)
    tables.write_csv(table, args.out)
    print(table[["benchmark", "value", "unit"]].to_string(index=False))


if __name__ == "__main__":
    main()
