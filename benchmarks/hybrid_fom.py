"""Benchmark the hybrid family's FOM datasets: wall time per case.

rd: one case = 10 trajectories x (200 warm-up + 1000) Crank-Nicolson steps on the
fine grid plus the coarse-fine corrections, per grid N in {64, 128}; linear:
one draw. Writes ``results/benchmarks/hybrid_fom.csv``.

    python benchmarks/hybrid_fom.py [--grids 64 128] [--steps 1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from romflow import tables
from romflow.device import set_threads
from romflow.fom import linear, reaction_diffusion

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grids", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--trajectories", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/hybrid_fom.csv"))
    args = ap.parse_args()
    set_threads(args.threads)
    rows = []
    for n in args.grids:
        sec = timed(lambda n=n: reaction_diffusion.solve(
            0.05, n, trajectories=args.trajectories, steps=args.steps, warmup=args.warmup))
        rows.append({"benchmark": f"rd_case_seconds_n{n}", "value": sec, "unit": "s",
                     "grid": n, "trajectories": args.trajectories,
                     "steps": args.steps + args.warmup})
    sec = timed(lambda: linear.solve(0))
    rows.append({"benchmark": "linear_draw_seconds", "value": sec, "unit": "s", "grid": 2,
                 "trajectories": 10, "steps": 50})
    table = pd.DataFrame(rows).assign(threads=args.threads, torch=torch.__version__)
    tables.write_csv(table, args.out)
    print(table[["benchmark", "value", "unit"]].to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
