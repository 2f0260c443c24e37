# Config access, input functions and resources shared by every rule family.

from snakemake.exceptions import WorkflowError

from romflow import paper_numbers
from romflow.config import differences, load_yaml, resolve
from romflow.errors import ConfigError
from romflow.hybrid.estimators import estimator_table, evaluation_split, protocol_section

try:
    # What --configfile / --config set wins over the preset: Snakemake keeps it apart
    # from config.yaml (a value equal to config.yaml's still counts as set).  Keys in
    # config.yaml's order: params that differ only in key order would rerun rules.
    CFG = resolve(config, load_yaml(ROOT / "workflow/schemas/config.schema.yaml"),
                  user=dict(workflow.config_settings.overwrite_config),
                  template=load_yaml(ROOT / "config.yaml"))
except ConfigError as exc:
    raise WorkflowError(str(exc))
# What the scale (and the user's settings) changed against the papers' settings, for
# every table to print: config.yaml's base values under the empty `paper` preset.
PAPER_CFG = resolve({**load_yaml(ROOT / "config.yaml"), "scale": "paper"},
                    load_yaml(ROOT / "workflow/schemas/config.schema.yaml"))
REDUCED = {p: [d for d in differences(CFG[p], PAPER_CFG[p])] for p in PAPER_CFG
           if isinstance(CFG.get(p), dict)}
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
LASDI_PROBLEMS = ["toy", "wake", "vlasov"]
HYBRID_PROBLEMS = ["linear", "rd", "channel"]


wildcard_constraints:
    problem="[a-z]+",
    case="[A-Za-z0-9_.]+",
    model="[A-Za-z][A-Za-z0-9_]*",
    # training segments of the mLaSDI stages (lasdi.smk): chain names, iteration
    # counts, and the path of the stage-(k-1) segment a stage-k segment corrects
    chain="[A-Za-z0-9_]+",
    iters="[0-9]+",
    parent="[A-Za-z0-9_]+/it[0-9]+(/[A-Za-z0-9_]+/it[0-9]+)*",
    split="[0-9]+",
    # estimator entries of hybrid.estimators and the λ sweep's tr_lam<λ> (labels only)
    estimator="[A-Za-z][A-Za-z0-9_.+-]*",
    protocol="[a-z][a-z0-9_]*",


def linear_outputs():
    return [f"{RESULTS}/linear/tables/terminal_error.csv",
            f"{RESULTS}/linear/figures/fig6_error_vs_step.png",
            f"{RESULTS}/linear/figures/fig7_terminal_vs_lambda.png"]


PROTOCOL_PROBLEMS = ["rd", "channel"]


def protocols(problem):
    """The protocols of a problem that `all` runs (its ``protocols`` list)."""
    return list(CFG[problem]["protocols"])


def section(problem, protocol=None):
    """A problem's config section, with ``protocol``'s overrides merged in when given."""
    if protocol is None:
        return CFG[problem]
    try:
        return protocol_section(CFG[problem], protocol)
    except ConfigError as exc:
        raise WorkflowError(f"{problem}: {exc}")


def hybrid_case_table(problem, protocol=None):
    """Case name -> the sweep values it stands for, for one hybrid problem (protocol)."""
    fom = section(problem, protocol)["fom"]
    if problem == "linear":
        return {f"draw{d}": {"draw": d} for d in range(fom["draws"])}
    if problem == "channel":
        return {f"n{nx}x{ny}_re{re:g}": {"nx": nx, "ny": ny, "reynolds": re}
                for nx, ny in fom["grids"] for re in fom["reynolds"]}
    return {f"n{n}_gamma{g:.2f}": {"n": n, "gamma": g}
            for n in fom["grids"] for g in fom["gammas"]}


def hybrid_cases(problem, protocol=None):
    return list(hybrid_case_table(problem, protocol))


def _protocol(wc):
    return getattr(wc, "protocol", None)


def case_params(wc):
    """Sweep values of a {problem}/[{protocol}/]{case}; unknown ones stop with a clear error."""
    if wc.problem in PROTOCOL_PROBLEMS and wc.protocol not in CFG[wc.problem]["protocol_settings"]:
        raise WorkflowError(f"protocol {wc.protocol!r} of {wc.problem} is not configured; "
                            f"configured: {sorted(CFG[wc.problem]['protocol_settings'])}")
    table = hybrid_case_table(wc.problem, _protocol(wc))
    if wc.case not in table:
        raise WorkflowError(f"case {wc.case!r} of {wc.problem} is not configured; "
                            f"configured: {sorted(table)}")
    return table[wc.case]


def hybrid_cfg(wc):
    return section(wc.problem, _protocol(wc))["hybrid"]


def fom_owner(problem, protocol):
    """The protocol whose pairs a protocol reads: the first of protocol_settings with the
    same FOM settings (paper and romflow share their data)."""
    fom = section(problem, protocol)["fom"]
    for other in CFG[problem]["protocol_settings"]:
        if section(problem, other)["fom"] == fom:
            return other
    return protocol


def pairs_file(wc):
    """pairs.nc of {problem}/{protocol}/{case}, made once for protocols that share it."""
    case_params(wc)
    return f"{RESULTS}/{wc.problem}/{fom_owner(wc.problem, wc.protocol)}/{wc.case}/pairs.nc"


def estimators(problem, protocol, sweep=True):
    try:
        return estimator_table(section(problem, protocol)["hybrid"], sweep=sweep)
    except ConfigError as exc:
        raise WorkflowError(f"{problem} protocol {protocol}: {exc}")


def estimator_spec(wc):
    table = estimators(wc.problem, wc.protocol)
    if wc.estimator not in table:
        raise WorkflowError(f"estimator {wc.estimator!r} of {wc.problem} protocol "
                            f"{wc.protocol} is not configured; configured: {list(table)}")
    return table[wc.estimator]


def closure_params(wc):
    """What one closure depends on: its estimator entry, the closure's training settings
    and the resolved step (editing TR's λ reruns TR only)."""
    h = hybrid_cfg(wc)
    return {"estimator": estimator_spec(wc).settings(), "closure": dict(h["closure"]),
            "resolved_step": h["resolved_step"]}


def sweep_lams(problem, protocol):
    """Estimator name -> λ of the λ sweep's TR entries of a protocol, in sweep order."""
    base = estimators(problem, protocol, sweep=False)
    return {name: spec.lam for name, spec in estimators(problem, protocol).items()
            if name not in base}


def split_ids(wc):
    """(train, rollout) trajectory ids of split {split} of {problem}/{protocol}."""
    try:
        return evaluation_split(section(wc.problem, wc.protocol), int(wc.split), CFG["seed"])
    except ConfigError as exc:
        raise WorkflowError(f"{wc.problem} protocol {wc.protocol}: {exc}")


def n_splits(problem, protocol):
    h = section(problem, protocol)["hybrid"]
    return 1 if h["evaluate"] == "train" else int(h["splits"])


def hybrid_rollouts(problem, sweep=False):
    """Every rollout.nc of a problem: protocols x cases x splits x estimators (with
    ``sweep``, the λ sweep's TR entries beside them)."""
    out = []
    for proto in protocols(problem):
        names = list(estimators(problem, proto, sweep=sweep))
        out += [f"{RESULTS}/{problem}/{proto}/{case}/split{s}/{est}/rollout.nc"
                for case in hybrid_cases(problem, proto)
                for s in range(n_splits(problem, proto)) for est in names]
    return out


def has_sweep(problem):
    return any(sweep_lams(problem, proto) for proto in protocols(problem))


def rd_outputs():
    out = [f"{RESULTS}/rd/tables/table1.csv", f"{RESULTS}/rd/tables/table1.tex",
           f"{RESULTS}/rd/figures/fig4_snapshots.png",
           f"{RESULTS}/rd/figures/fig4_error_shift.png"]
    if has_sweep("rd"):
        out += [f"{RESULTS}/rd/tables/lambda_sweep.csv",
                f"{RESULTS}/rd/figures/lambda_sweep.png"]
    return out


def channel_outputs():
    return [f"{RESULTS}/channel/tables/table2.csv", f"{RESULTS}/channel/tables/table2.tex",
            f"{RESULTS}/channel/figures/fig5_snapshots.png",
            f"{RESULTS}/channel/figures/fig5_error_shift.png"]


def all_outputs():
    out = []
    for problem in CFG["experiments"]:
        if problem in LASDI_PROBLEMS:
            out += lasdi_report_outputs(problem)
        if problem == "linear":
            out += linear_outputs()
        elif problem == "rd":
            out += rd_outputs()
        elif problem == "channel":
            out += channel_outputs()
    return out


# --- snakemake --report --------------------------------------------------------------
# Every figure and table is a report() output.  reported(path, caption_key, item) files
# it under its paper (category) and problem (subcategory), labels it with `item` (e.g.
# "Fig. 4") and the scale, and captions it with the Jinja/reST template
# workflow/report/<caption_key>.rst, which reads snakemake.config, snakemake.wildcards
# and the rule's params, among them `published` (the papers' numbers, from
# src/romflow/paper_numbers.yaml through published()).  A new figure: wrap its output in
# reported() and write its template.  A new CSV table under results/<problem>/tables/
# gets its HTML page (rule table_html) by itself; REPORT_TABLES gives it a title and,
# where the paper has numbers, a comparison (romflow.report_pages.COMPARISONS).

REPORT = ROOT / "workflow" / "report"
MLASDI_PAPER = "mLaSDI (Anderson et al.)"
HYBRID_PAPER = "Hybrid simulation, TR (Zhao & Li)"
PAPER_OF = {**{p: MLASDI_PAPER for p in LASDI_PROBLEMS},
            **{p: HYBRID_PAPER for p in HYBRID_PROBLEMS}}


def reported(path, caption_key, item, problem="{problem}", category=None):
    """``path`` marked for the report; ``item`` may be a function of the wildcards,
    ``problem`` a problem name or the ``{problem}`` wildcard (None: no subcategory)."""
    if category is None:
        category = ((lambda wc: PAPER_OF[wc.problem]) if problem == "{problem}"
                    else PAPER_OF[problem])

    def labels(wc):
        return {"item": item(wc) if callable(item) else item, "scale": CFG["scale"]}

    return report(path, caption=str(REPORT / f"{caption_key}.rst"), category=category,
                  subcategory=problem, labels=labels)


def published(*keys):
    """The papers' numbers at ``keys`` of paper_numbers.yaml ({} where they publish
    none), for a caption template as ``snakemake.params.published``."""
    return paper_numbers.lookup(*keys, default={})


#: Report pages of the tables, by CSV file stem: label, title, and the comparison kind
#: with the paper's numbers at the paper_numbers.yaml keys ("{problem}": the problem).
REPORT_TABLES = {
    "errors": {"item": "Table 1: eq. (25) error", "kind": "lasdi_errors",
               "published": ("mlasdi", "table1", "{problem}"),
               "title": "max over time of the relative error, eq. (25), per model, stage "
                        "count and parameter point"},
    "kappa": {"item": "Fig. A.10 as a table: error vs κ", "kind": None, "published": None,
              "title": "appendix A: mean eq. (25) error over the train and the test "
                       "parameters against the fixed κ of stage 2 (the paper: smallest "
                       "near κ = 1)"},
    "sweep": {"item": "Fig. 9 as a table: sweep summary", "kind": None, "published": None,
              "title": "per model and stage count, eq. (25) over the test and over all "
                       "parameters (max, mean, min, median), the Table 2 and appendix B "
                       "sweeps"},
    "fig9_reduction": {"item": "section 4.3: reduction factors", "kind": "lasdi_reduction",
                       "published": ("mlasdi", "vlasov", "fig9_median_reduction"),
                       "title": "GPLaSDI / mLaSDI ratios of eq. (25) statistics at equal "
                                "iterations, per pair and (last row) over the pairs"},
    "terminal_error": {"item": "Fig. 7 as a table: terminal error", "kind": None,
                       "published": None,
                       "title": "terminal trajectory error per estimator and penalty λ "
                                "(closed forms, Prop. 3.1), over the random draws"},
    "table1": {"item": "Table 1: error at the last step", "kind": "hybrid_table1",
               "published": ("hybrid", "table1"),
               "title": "relative error at the last step per grid, γ and estimator, over "
                        "the test rollouts of every split"},
    "table2": {"item": "Table 2: stopping time t_K", "kind": "hybrid_table2",
               "published": ("hybrid", "table2"),
               "title": "stopping time t_K per grid, Re and estimator over the test "
                        "rollouts of every split, censored rollouts counted"},
    "lambda_sweep": {"item": "λ sweep as a table", "kind": None, "published": None,
                     "title": "relative error at the last step of TR over its penalty λ, "
                              "beside OLS, mOLS and aOLS"},
}


def report_table(wc):
    """The REPORT_TABLES entry of a {problem}/{table} pair (a plain one where none)."""
    entry = REPORT_TABLES.get(wc.table, {"item": wc.table, "kind": None, "published": None,
                                         "title": wc.table.replace("_", " ")})
    keys = entry["published"]
    numbers = published(*(k.format(problem=wc.problem) for k in keys)) if keys else {}
    return {**entry, "published": numbers}


def report_tables():
    """The HTML page of every CSV table that `all` builds."""
    return [f[: -len(".csv")] + ".html" for f in all_outputs()
            if f.endswith(".csv") and "/tables/" in f]


def report_outputs():
    """What `all` adds for the report: the tables' pages and the provenance index."""
    return report_tables() + [f"{RESULTS}/README.md", f"{RESULTS}/report/provenance.html"]
