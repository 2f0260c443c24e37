# Config access, input functions and resources shared by every rule family.

from snakemake.exceptions import WorkflowError

from romflow.config import load_yaml, model_spec, resolve
from romflow.errors import ConfigError
from romflow.hybrid.closures import ESTIMATORS
from romflow.hybrid.experiment import (SWEEP_PREFIX, parse_estimator, split_trajectories,
                                       sweep_estimator)

try:
    # What --configfile / --config set wins over the preset: Snakemake keeps it apart
    # from config.yaml (a value equal to config.yaml's still counts as set).  Keys in
    # config.yaml's order: params that differ only in key order would rerun rules.
    CFG = resolve(config, load_yaml(ROOT / "workflow/schemas/config.schema.yaml"),
                  user=dict(workflow.config_settings.overwrite_config),
                  template=load_yaml(ROOT / "config.yaml"))
except ConfigError as exc:
    raise WorkflowError(str(exc))
# Rule scripts read snakemake.config: give them the effective (preset-merged) config.
config.clear()
config.update(CFG)

RESULTS = "results"
# The mLaSDI chain (FOM -> stage 1 -> stage 2 -> ...) has few jobs but the longest
# serial path (a 50k-iteration stage 1 is about 20 min on one core): started first,
# it overlaps with the many short hybrid jobs instead of running alone at the end.
PRIORITY_LONG_CHAIN = 10
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks/rules"
# Training and rollout rules ask for a GPU unless the config pins the CPU.
GPU = 0 if CFG["device"] == "cpu" else 1
# Software environment of every rule under --sdm conda (envs/README.md).
ENV = str(ROOT / "envs" / ("cpu.yaml" if GPU == 0 else "gpu.yaml"))
LASDI_PROBLEMS = ["toy"]
HYBRID_PROBLEMS = ["linear", "rd", "channel"]
FOM_ONLY_PROBLEMS = ["wake", "vlasov"]  # FOM data only, so far


wildcard_constraints:
    problem="[a-z]+",
    case="[A-Za-z0-9_.]+",
    model="[A-Za-z][A-Za-z0-9_]*",
    k="[2-9]|[1-9][0-9]+",
    split="[0-9]+",
    # the four estimators, and TR at a λ of the sweep as sweep_estimator names it
    estimator="|".join(ESTIMATORS) + f"|{SWEEP_PREFIX}[0-9.e+-]+",


def spec(wc):
    """Typed model entry of a {problem}/{model} wildcard pair."""
    return model_spec(wc.model, CFG[wc.problem], CFG["lasdi"])


def models(problem):
    return list(CFG[problem]["models"])


def n_stages(problem, model):
    return len(CFG[problem]["models"][model]["stages"])


def stage_params(wc, k):
    """The settings stage k depends on: a change reruns stage k and what follows."""
    entry = CFG[wc.problem]["models"][wc.model]
    keys = ("hidden", "latent", "library") + (("beta1", "beta2") if k == 1 else ())
    merged = {**{key: CFG["lasdi"][key] for key in ("library", "beta1", "beta2")}, **entry}
    params = {key: merged[key] for key in keys}
    params["stage"] = {**CFG["lasdi"]["stage"], **entry["stages"][k - 1]}
    params["seed"] = CFG["seed"]
    return params


def stage_models(wc, upto=None):
    """Model files of stages 1..upto (default: every stage of the model)."""
    n = n_stages(wc.problem, wc.model) if upto is None else upto
    return [f"{RESULTS}/{wc.problem}/{wc.model}/stage{k}.pt" for k in range(1, n + 1)]


def lasdi_report_outputs(problem):
    return [
        f"{RESULTS}/{problem}/tables/errors.csv",
        f"{RESULTS}/{problem}/tables/errors.tex",
        f"{RESULTS}/{problem}/figures/fig2_loss_latent.png",
        f"{RESULTS}/{problem}/figures/fig3_reconstruction.png",
        f"{RESULTS}/{problem}/figures/fig4_errors.png",
    ]


def per_model(name):
    return lambda wc: {m: f"{RESULTS}/{wc.problem}/{m}/{name}" for m in models(wc.problem)}


def linear_outputs():
    return [f"{RESULTS}/linear/tables/terminal_error.csv",
            f"{RESULTS}/linear/figures/fig6_error_vs_step.png",
            f"{RESULTS}/linear/figures/fig7_terminal_vs_lambda.png"]


def hybrid_case_table(problem):
    """Case name -> the sweep values it stands for, for one hybrid problem."""
    fom = CFG[problem]["fom"]
    if problem == "linear":
        return {f"draw{d}": {"draw": d} for d in range(fom["draws"])}
    if problem == "channel":
        return {f"n{nx}x{ny}_re{re:g}": {"nx": nx, "ny": ny, "reynolds": re}
                for nx, ny in fom["grids"] for re in fom["reynolds"]}
    return {f"n{n}_gamma{g:.2f}": {"n": n, "gamma": g}
            for n in fom["grids"] for g in fom["gammas"]}


def hybrid_cases(problem):
    return list(hybrid_case_table(problem))


def case_params(wc):
    """Sweep values of a {problem}/{case} pair; unknown cases stop with a clear error."""
    table = hybrid_case_table(wc.problem)
    if wc.case not in table:
        raise WorkflowError(f"case {wc.case!r} of {wc.problem} is not configured; "
                            f"configured: {sorted(table)}")
    return table[wc.case]


def hybrid_cfg(wc):
    return CFG[wc.problem]["hybrid"]


ESTIMATOR_KEYS = {"mols": "weight_decay", "aols": "noise", "tr": "lam"}


def closure_params(wc):
    """The settings one estimator depends on: editing TR's λ reruns TR only, and the
    λ sweep's ``tr_lam<λ>`` is TR with that λ."""
    try:
        base, lam = parse_estimator(wc.estimator)
    except ConfigError as exc:
        raise WorkflowError(str(exc))
    cfg = dict(hybrid_cfg(wc)["closure"])
    for est, key in ESTIMATOR_KEYS.items():
        if est != base:
            cfg.pop(key)
    if lam is not None:
        cfg["lam"] = lam
    return cfg


def sweep_lams(problem):
    """Estimator name -> λ of the λ sweep of a problem (the TR default's λ left out:
    its rows are ``tr``'s), in sweep order."""
    h = CFG[problem]["hybrid"]
    return {sweep_estimator(lam): float(lam) for lam in h.get("lam_sweep", [])
            if float(lam) != float(h["closure"]["lam"])}


def split_ids(wc):
    """(train, test) trajectory ids of split {split} of a hybrid problem."""
    h = hybrid_cfg(wc)
    splits = split_trajectories(CFG[wc.problem]["fom"]["trajectories"], h["splits"],
                                h["test"], CFG["seed"])
    if int(wc.split) >= len(splits):
        raise WorkflowError(f"split {wc.split} of {wc.problem} is not configured; "
                            f"configured: 0 .. {len(splits) - 1}")
    return splits[int(wc.split)]


def hybrid_rollouts(problem, sweep=False):
    """Every rollout.nc of a problem: cases x splits x estimators (and with ``sweep``,
    x the λ sweep's TR estimators too)."""
    h = CFG[problem]["hybrid"]
    estimators = list(h["estimators"]) + (list(sweep_lams(problem)) if sweep else [])
    return [f"{RESULTS}/{problem}/{case}/split{s}/{est}/rollout.nc"
            for case in hybrid_cases(problem) for s in range(h["splits"])
            for est in estimators]


def rd_outputs():
    out = [f"{RESULTS}/rd/tables/table1.csv", f"{RESULTS}/rd/tables/table1.tex",
           f"{RESULTS}/rd/figures/fig4_snapshots.png",
           f"{RESULTS}/rd/figures/fig4_error_shift.png"]
    if sweep_lams("rd"):
        out += [f"{RESULTS}/rd/tables/lambda_sweep.csv",
                f"{RESULTS}/rd/figures/lambda_sweep.png"]
    return out


def all_outputs():
    out = []
    for problem in CFG["experiments"]:
        if problem in LASDI_PROBLEMS:
            out += lasdi_report_outputs(problem)
        if problem in FOM_ONLY_PROBLEMS:
            out.append(f"{RESULTS}/{problem}/fom.nc")
        if problem == "linear":
            out += linear_outputs()
        elif problem == "rd":
            out += rd_outputs()
        elif problem in HYBRID_PROBLEMS:
            out += [f"{RESULTS}/{problem}/{case}/pairs.nc" for case in hybrid_cases(problem)]
    return out
