"""What the tangent-space penalty can and cannot do on a trained rd case.

Reads a pipeline run (its ``pairs.nc``, ``manifold.pt`` and split's closures) and
rolls out, from the split's first test trajectory, closures that split a
learned closure's error e(u) = φθ(u) - y(u) along the unit manifold normal
n̂(u) = ∇F(u) / |∇F(u)| of the run's autoencoder, at the current state:

- ``exact``: y(u), the fine step's correction (error 0 up to round-off);
- ``<est>``: the trained closure of each estimator present (ols, tr, ...);
- ``ols, normal part of its error removed``: y(u) + (1 - n̂ n̂ᵀ) e(u), what a
  closure that made OLS's error minus its normal part would do; the paper's
  argument is that this part drives the distribution shift F;
- ``ols, only the normal part of its error``: y(u) + n̂ n̂ᵀ e(u);
- ``TR minimizer of the exact y``: φ*(u) of :func:`tr_minimizer` with the exact
  y(u) and the normal at u, the closure an optimizer with unlimited capacity and
  budget would reach on TR's loss; it differs from y(u) as far as the normals
  are not normal to the data's velocity.

Also reads each TR closure's ``loss.nc``: its loss on its pairs after training
against ``tr_floor``, the lowest TR loss any closure can reach on those pairs.
Writes ``results/benchmarks/rd_tr_diagnostics.csv`` (relative error at steps
100, 500, last; F at the last step).

    python benchmarks/rd_tr_diagnostics.py [--run .] [--case n64_gamma0.05 ...] [--split 0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from romflow import io, tables
from romflow.hybrid import train as ex
from romflow.hybrid.closures import tr_coefficients, tr_minimizer
from romflow.hybrid.manifold import distance, normals
from romflow.hybrid.simulate import resolved_step, rollout

ROOT = Path(__file__).resolve().parents[1]


def _unit(v):
    return v / v.flatten(1).norm(dim=1).view(-1, *[1] * (v.dim() - 1))


def diagnose(run: Path, case_name: str, split_id: int, protocol: str = "romflow") -> list[dict]:
    """The rollouts above for one protocol, case and split; one row per rollout."""
    case = run / "results" / "rd" / protocol / case_name
    split = case / f"split{split_id}"
    own = case / "pairs.nc"   # protocols with the same FOM read romflow's pairs
    pairs = io.open_dataset(own if own.is_file() else
                            run / "results" / "rd" / "romflow" / case_name / "pairs.nc", "pairs")
    test = io.open_dataset(split / "ols" / "rollout.nc", "rollout")[io.TRAJECTORY].values
    t = int(test[0])
    ae = ex.load_manifold(io.load_model(case / "manifold.pt"), pairs)
    step = resolved_step("rd", pairs)
    ref = torch.from_numpy(pairs["u"].isel({io.TRAJECTORY: t}).values).double()
    nets = {est.name: ex.load_closure(io.load_model(est / "closure.pt"), pairs).module
            for est in sorted(split.iterdir()) if (est / "closure.pt").is_file()}
    losses = {est: io.open_dataset(split / est / "loss.nc", "loss").attrs
              for est in nets if est.startswith("tr")}
    lams = {est: float(a["lam"]) for est, a in losses.items()}
    lam = lams.get("tr", 10.0)
    # φ* below is written on increments (the fit on y, the penalty on the velocity):
    # a closure trained in rate units at λ has λ Δt² there (romflow.hybrid.estimators).
    tr_attrs = losses.get("tr", {})
    lam_increment = (lam * float(tr_attrs.get("increment_scale", 1.0)) ** 2
                     if tr_attrs.get("units", "literal") == "rate" else lam)

    def normal(u):
        with torch.enable_grad():
            return normals(ae, u.float()).double()

    def learned(name):
        return lambda u: nets[name](u.float()).double()

    def ols_part(keep_normal):
        def closure(u):
            y = step.exact(u)
            e = learned("ols")(u) - y
            nh = _unit(normal(u))
            along = (nh * e).flatten(1).sum(1).view(-1, 1, 1, 1) * nh
            return y + (along if keep_normal else e - along)
        return closure

    def tr_best(u):
        return tr_minimizer(tr_coefficients(normal(u), step.drift(u), step.coupling_adjoint),
                            step.exact(u), lam_increment)

    runs = {"exact": step.exact, **{name: learned(name) for name in nets}}
    if "ols" in nets:
        runs["ols, normal part of its error removed"] = ols_part(False)
        runs["ols, only the normal part of its error"] = ols_part(True)
    runs[f"TR minimizer of the exact y (lam = {lam:g})"] = tr_best
    dist = lambda x: distance(ae, x.float()).double()  # noqa: E731
    rows = []
    for name, closure in runs.items():
        start = time.perf_counter()
        out = rollout(step, closure, ref, trajectory=t, distance=dist)
        err, last = out["rel_error"], ref.shape[0] - 1
        row = {"case": case.name, "split": split_id, "trajectory": t, "rollout": name,
               "rel_error_step100": float(err[min(100, last)]),
               "rel_error_step500": float(err[min(500, last)]),
               "rel_error_last": float(err[last]), "shift_last": float(out["shift"][last]),
               "blowup_step": int(out["blowup_step"]), "seconds": time.perf_counter() - start}
        if name in lams:
            loss = io.open_dataset(split / name / "loss.nc", "loss").attrs
            row.update({key: float(loss[key]) for key in
                        ("lam", "tr_of_data", "tr_floor", "tr_floor_mse", "final_loss",
                         "final_mse") if key in loss})
        rows.append(row)
        print(f"{case.name} {name:45s} error at step 100 / 500 / last: "
              f"{row['rel_error_step100']:.3e} / {row['rel_error_step500']:.3e} / "
              f"{row['rel_error_last']:.3e}, F at the last step {row['shift_last']:.3e}",
              flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default=".", help="directory holding the run's results/")
    ap.add_argument("--case", nargs="+", default=["n64_gamma0.05"],
                    help="one or more cases (results/rd/<protocol>/<case>/), one CSV for all")
    ap.add_argument("--protocol", default="romflow", help="romflow | paper (their pairs)")
    ap.add_argument("--split", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "results/benchmarks/rd_tr_diagnostics.csv"))
    args = ap.parse_args()
    rows = [row for name in args.case for row in diagnose(Path(args.run), name, args.split,
                                                           args.protocol)]
    tables.write_csv(pd.DataFrame(rows), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
