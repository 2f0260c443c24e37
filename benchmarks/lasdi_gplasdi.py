"""Our stage-1 iteration against GPLaSDI's own code, side by side, on the same data
and network.

Two problems: the mLaSDI toy (600-200-20-10, A = 1.0, 1.4, Softplus) and GPLaSDI's
own 1D Burgers example (its ``examples/burgers1d.yml``: 1001 x 1001 snapshots of the
four corners of its parameter box, 1001-100-5, its solver makes the data). Both
sides train full batch with Adam at lr 1e-3, beta1 = 0.1, the unsquared Frobenius
coefficient norm, SBP 1-2 differences and Xavier-uniform weights, on one thread;
seconds per iteration are (T(2n) - T(n)) / n, so set-up costs cancel.  GPLaSDI's
``BayesianGLaSDI.train`` also saves the autoencoder to disk at every new lowest
loss and prints a line per iteration: that is its code's cost per iteration.

GPLaSDI is not a dependency of romflow.  ``--gplasdi-python`` names an interpreter
of a separate environment in which ``import lasdi`` works (GPLaSDI needs numpy < 2);
the benchmark runs GPLaSDI's part there and ours here.  Writes
``results/benchmarks/lasdi_gplasdi.csv``.

    python benchmarks/lasdi_gplasdi.py --gplasdi-python /path/to/env/bin/python
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from lasdi_timing import stage1_seconds_per_iteration

from romflow import io, tables
from romflow.device import set_threads
from romflow.fom import toy
from romflow.model_specs import ModelSpec, StageSpec

ROOT = Path(__file__).resolve().parents[1]

# GPLaSDI's side: runs in --gplasdi-python.  Makes the Burgers data with GPLaSDI's
# solver, then times BayesianGLaSDI.train on each problem's data.
CHILD = textwrap.dedent('''
    import contextlib, io, json, os, sys, tempfile, time
    import numpy as np, torch
    from lasdi.gplasdi import BayesianGLaSDI
    from lasdi.latent_space import Autoencoder
    from lasdi.latent_dynamics.sindy import SINDy
    from lasdi.param import ParameterSpace
    from lasdi.physics.burgers1d import Burgers1D

    torch.set_num_threads(1)
    job = json.load(open(sys.argv[1]))
    cfg = job["burgers_config"]
    space = ParameterSpace(cfg)
    physics = Burgers1D(cfg["physics"], space.param_name)
    X = torch.cat([physics.solve(p) for p in space.train_space], 0)
    np.save(job["burgers_data"], X.numpy())
    np.save(job["burgers_dt"], np.array(physics.dt))

    class Stub:
        def __init__(self, nx, nt, dt, n):
            self.qgrid_size, self.nt, self.dt = [nx], nt, dt
            self.train_space = np.zeros((n, 1))
        def n_train(self):
            return self.train_space.shape[0]

    out = {}
    for name, p in job["problems"].items():
        data = torch.as_tensor(np.load(p["data"]))
        stub = Stub(data.shape[2], data.shape[1], float(np.load(p["dt"])), data.shape[0])
        times = []
        for n in (p["iterations"], 2 * p["iterations"]):
            torch.manual_seed(0)
            ae = Autoencoder(stub, {"hidden_units": p["hidden"],
                                    "latent_dimension": p["latent"],
                                    "activation": p["activation"]})
            ld = SINDy(p["latent"], stub.nt, {"sindy": {"fd_type": "sbp12",
                                                        "coef_norm_order": "fro"}})
            d = tempfile.mkdtemp()
            trainer = BayesianGLaSDI(stub, ae, ld, stub, {
                "n_samples": 20, "lr": 1e-3, "n_iter": n, "max_iter": n, "max_greedy_iter": n,
                "ld_weight": 0.1, "coef_weight": p["beta2"],
                "path_checkpoint": d + "/ckpt", "path_results": d + "/res"})
            trainer.X_train = data
            with contextlib.redirect_stdout(io.StringIO()):
                t0 = time.perf_counter()
                trainer.train()
                times.append(time.perf_counter() - t0)
        out[name] = (times[1] - times[0]) / p["iterations"]
    json.dump(out, open(job["result"], "w"))
''')

BURGERS = {   # GPLaSDI's examples/burgers1d.yml, the parts its solver and space read
    "physics": {"burgers1d": {"offline_driver": False, "number_of_timesteps": 1001,
                              "simulation_time": 1.0, "grid_size": [1001],
                              "xmin": -3.0, "xmax": 3.0}},
    "parameter_space": {"parameters": [
        {"name": "a", "min": 0.7, "max": 0.9, "test_space_type": "uniform",
         "sample_size": 21, "log_scale": False},
        {"name": "w", "min": 0.9, "max": 1.1, "test_space_type": "uniform",
         "sample_size": 21, "log_scale": False}], "test_space": {"type": "grid"}},
}


def fom_dataset(u: np.ndarray, dt: float, problem: str) -> xr.Dataset:
    """A 'fom' dataset of training snapshots ``u : (param, time, x)``."""
    n, nt, _ = u.shape
    return xr.Dataset(
        {"u": io.variable((io.PARAM, io.TIME, "x"), u.astype(np.float32), units="1",
                          long_name="snapshots")},
        coords={"mu": (io.PARAM, np.arange(n, dtype=float)),
                io.SPLIT: (io.PARAM, ["train"] * n),
                io.TIME: (io.TIME, dt * np.arange(nt))},
        attrs=io.provenance("fom", problem, equation="-", solver="-", scheme="-",
                            parameters="mu"))


def spec(hidden, latent, beta2) -> ModelSpec:
    return ModelSpec(name="benchmark", hidden=tuple(hidden), latent=latent, library="linear",
                     beta1=0.1, beta2=beta2, coef_penalty="norm", coef_norm="fro",
                     derivative="sbp12", init="xavier_uniform", keep="best",
                     stages=(StageSpec(1, 1e-3),))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gplasdi-python", required=True,
                    help="interpreter of an environment where `import lasdi` (GPLaSDI) works")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/lasdi_gplasdi.csv"))
    args = ap.parse_args()
    set_threads(1)
    n = args.iterations
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fom = toy.solve([1.0, 1.4], [])
        np.save(tmp / "toy.npy", fom["u"].values)
        np.save(tmp / "toy_dt.npy", np.array(float(fom[io.TIME][1] - fom[io.TIME][0])))
        problems = {
            "toy": {"data": str(tmp / "toy.npy"), "dt": str(tmp / "toy_dt.npy"),
                    "hidden": [200, 20], "latent": 10, "activation": "softplus",
                    "beta2": 1e-3, "iterations": n},
            "burgers1d": {"data": str(tmp / "burgers.npy"), "dt": str(tmp / "burgers_dt.npy"),
                          "hidden": [100], "latent": 5, "activation": "softplus",
                          "beta2": 1e-6, "iterations": n},
        }
        job = {"burgers_config": BURGERS, "burgers_data": problems["burgers1d"]["data"],
               "burgers_dt": problems["burgers1d"]["dt"], "problems": problems,
               "result": str(tmp / "gplasdi.json")}
        (tmp / "job.json").write_text(json.dumps(job))
        (tmp / "child.py").write_text(CHILD)
        subprocess.run([args.gplasdi_python, str(tmp / "child.py"), str(tmp / "job.json")],
                       check=True)
        theirs = json.loads((tmp / "gplasdi.json").read_text())
        rows = []
        for name, p in problems.items():
            data = np.load(p["data"])
            ours, _ = stage1_seconds_per_iteration(
                fom_dataset(data, float(np.load(p["dt"])), name),
                spec(p["hidden"], p["latent"], p["beta2"]), n, repeats=args.repeats)
            arch = "-".join(map(str, (data.shape[2], *p["hidden"], p["latent"])))
            common = {"problem": name, "architecture": arch, "snapshots": data.shape[1],
                      "train_params": data.shape[0], "iterations": n, "threads": 1,
                      "torch": torch.__version__, "machine": platform.machine()}
            rows += [{"benchmark": "stage1_seconds_per_iteration", "implementation": "romflow",
                      "value": ours, "unit": "s", **common},
                     {"benchmark": "stage1_seconds_per_iteration", "implementation": "GPLaSDI",
                      "value": theirs[name], "unit": "s", **common},
                     {"benchmark": "gplasdi_over_romflow", "implementation": "ratio",
                      "value": theirs[name] / ours, "unit": "1", **common}]
    table = pd.DataFrame(rows)
    tables.write_csv(table, args.out)
    print(table[["problem", "benchmark", "implementation", "value"]].to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
