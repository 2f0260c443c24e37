"""Benchmark the FOM datasets of wake, rd, channel and linear: wall time per case.

- wake: one simulation (one viscosity) at the configured resolution, 10 time
  units of spin-up + 1 recorded, and the batch of all three viscosities;
- rd: one case = 10 trajectories x (200 warm-up + 1000) Crank-Nicolson steps on
  the fine grid plus the coarse-fine corrections, per grid N in {64, 128};
- channel: one case = 10 trajectories x (100 + 1000) projection steps, per grid;
- linear: one draw.
Writes ``results/benchmarks/fom_datasets.csv``.  (The Vlasov dataset has its own
benchmark, ``benchmarks/vlasov_fom.py``.)

    python benchmarks/fom_datasets.py [--only rd channel] [--steps 1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from romflow import tables
from romflow.device import set_threads
from romflow.fom import channel, linear, reaction_diffusion, wake

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", default=["wake", "rd", "channel", "linear"])
    ap.add_argument("--grids", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--trajectories", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/fom_datasets.csv"))
    args = ap.parse_args()
    set_threads(args.threads)
    rows = []

    def add(name, seconds, **info):
        rows.append({"benchmark": name, "value": seconds, "unit": "s", **info})
        print(f"{name}: {seconds:.1f} s", flush=True)

    if "wake" in args.only:
        add("wake_seconds_one_viscosity_100x200",
            timed(lambda: wake.solve([0.00043], nx=100, ny=200)), grid="100x200",
            trajectories=1, steps="11 time units")
        add("wake_seconds_three_viscosities_batched_100x200",
            timed(lambda: wake.solve([0.00032, 0.00054], [0.00043], nx=100, ny=200)),
            grid="100x200", trajectories=3, steps="11 time units")
    if "rd" in args.only:
        for n in args.grids:
            add(f"rd_case_seconds_n{n}", timed(lambda n=n: reaction_diffusion.solve(
                0.05, n, trajectories=args.trajectories, steps=args.steps,
                warmup=args.warmup)), grid=n, trajectories=args.trajectories,
                steps=args.steps + args.warmup)
    if "channel" in args.only:
        for nx, ny in ((128, 32), (256, 64)):
            add(f"channel_case_seconds_{nx}x{ny}", timed(lambda nx=nx, ny=ny: channel.solve(
                500.0, nx, ny, trajectories=args.trajectories, steps=args.steps, warmup=100)),
                grid=f"{nx}x{ny}", trajectories=args.trajectories, steps=args.steps + 100)
    if "linear" in args.only:
        add("linear_draw_seconds", timed(lambda: linear.solve(0)), grid=2, trajectories=10,
            steps=50)
    table = pd.DataFrame(rows).assign(threads=args.threads, torch=torch.__version__)
    tables.write_csv(table, args.out)
    print(table[["benchmark", "value", "unit"]].to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
