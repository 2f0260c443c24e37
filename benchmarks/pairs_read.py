"""Benchmark: what a closure or rollout job pays to read its part of a pairs file.

A pairs file of the rd quick case (10 trajectories x 1001 steps x 2 x 64 x 64, float32,
zlib level 4; random values, as incompressible as the real ones roughly are) is written
twice: with netCDF's default chunks and with one chunk per (trajectory, step), as
``romflow.io.write_dataset`` stores it.  Per layout, in one run: the full read and
validation (``io.open_dataset``), a closure's read (9 trajectories, every 20th step:
``lazy=True`` + ``hybrid.data.states``) and a rollout's (one whole trajectory), and the
file size.  Writes ``results/benchmarks/pairs_read.csv``.

    python benchmarks/pairs_read.py [--trajectories 10] [--steps 1001] [--grid 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from romflow import io, tables
from romflow.hybrid import data

ROOT = Path(__file__).resolve().parents[1]


def _pairs(n_traj, n_step, grid, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n_traj, n_step, 2, grid, grid)
    dims = (io.TRAJECTORY, io.STEP, "component", "y", "x")
    y = rng.normal(size=shape).astype(np.float32)
    y[:, -1] = np.nan
    return xr.Dataset(
        {"u": io.variable(dims, rng.normal(size=shape).astype(np.float32), units="1",
                          long_name="state"),
         "unresolved": io.variable(dims, y, units="1", long_name="unresolved part",
                                   nonfinite_means="NaN at the last step")},
        attrs=io.provenance("pairs", "rd", equation="benchmark", solver="-", scheme="-"))


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=10)
    ap.add_argument("--steps", type=int, default=1001)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/pairs_read.csv"))
    args = ap.parse_args()
    ds = _pairs(args.trajectories, args.steps, args.grid)
    train = list(range(1, args.trajectories))
    steps = range(0, args.steps - 1, args.every)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        layouts = {"netcdf_default": Path(tmp) / "default.nc",
                   "one_state_per_chunk": Path(tmp) / "chunked.nc"}
        enc = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
        ds.to_netcdf(layouts["netcdf_default"], engine="netcdf4", encoding=enc)
        io.write_dataset(ds, layouts["one_state_per_chunk"], "pairs")
        for layout, path in layouts.items():
            full = _best(lambda: io.open_dataset(path, "pairs"), args.repeat)
            closure = _best(lambda: data.states(io.open_dataset(path, "pairs", lazy=True), "u",
                                                train, steps), args.repeat)
            rollout = _best(lambda: io.finite_values(io.open_dataset(
                path, "pairs", lazy=True)["u"].isel({io.TRAJECTORY: 0})), args.repeat)
            rows.append({"layout": layout, "file_mb": path.stat().st_size / 1e6,
                         "full_read_s": full, "closure_read_s": closure,
                         "rollout_read_s": rollout})
    table = pd.DataFrame(rows)
    base = table.set_index("layout").loc["netcdf_default", "full_read_s"]
    table["full_read_over_closure_read"] = base / table["closure_read_s"]
    tables.write_csv(table, args.out)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
