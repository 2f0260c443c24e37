# mLaSDI family: input functions of the rules in lasdi.smk and report.smk.
#
# A model's stage k ends in a *segment* of a training run shared by every model
# whose stages 1..k have the same settings (romflow.model_specs): the run is cut at
# every iteration count some model asks for, each segment continuing the one
# before it, so the iteration counts of a sweep are checkpoints of one run.
#
#   results/<problem>/stages/<chain1>/it<N1>/           stage 1: model.pt, state.pt,
#                                                        latent.nc, loss.nc
#   results/<problem>/stages/<chain1>/it<N1>/<chain2>/it<N2>/   stage 2: model.pt,
#                                                        state.pt, residual.nc, loss.nc
#   results/<problem>/stages/<chain1>/it<N1>/coefficients.nc    GP of the stage-1 Xi
#   results/<problem>/<model>/prediction.nc, errors.nc

import functools
from types import SimpleNamespace

from romflow.model_specs import model_specs, segments


@functools.cache
def lasdi_plan(problem):
    """(specs, segments) of a problem's models: ``specs[name]``, ``segments[name][k-1]``."""
    try:
        specs = model_specs(CFG[problem], CFG["lasdi"])
    except ConfigError as exc:
        raise WorkflowError(str(exc))
    return specs, segments(specs, CFG["seed"])


@functools.cache
def segment_index(problem):
    """Segment directory (below results/<problem>/stages/) -> Segment."""
    return {seg.path: seg for segs in lasdi_plan(problem)[1].values() for seg in segs}


def models(problem):
    return list(lasdi_plan(problem)[0])


def model_segments(problem, model):
    plan = lasdi_plan(problem)[1]
    if model not in plan:
        raise WorkflowError(f"model {model!r} of {problem} is not configured; configured: "
                            f"{sorted(plan)}")
    return plan[model]


def stages_dir(problem):
    return f"{RESULTS}/{problem}/stages"


def segment_file(problem, seg, name):
    return f"{stages_dir(problem)}/{seg.path}/{name}"


def segment_of(wc):
    """The Segment a stage rule's wildcards name; unknown ones stop with a clear error."""
    own = f"{wc.chain}/it{wc.iters}"
    path = f"{wc.parent}/{own}" if hasattr(wc, "parent") else own
    index = segment_index(wc.problem)
    if path not in index:
        raise WorkflowError(f"{stages_dir(wc.problem)}/{path} is no training segment of a "
                            f"configured {wc.problem} model; see config.yaml's "
                            f"{wc.problem}.models and {wc.problem}.sweeps")
    return index[path]


def segment_params(wc):
    """What a segment's training depends on: its settings, where it ends and starts."""
    seg = segment_of(wc)
    return {"settings": seg.settings, "iterations": seg.iterations, "previous": seg.previous}


def resume_input(wc):
    seg = segment_of(wc)
    return [f"{stages_dir(wc.problem)}/{seg.previous_path}/state.pt"] if seg.previous else []


def ancestor_models(wc):
    """model.pt of stages 1..k-1 of a stage-k segment."""
    return [segment_file(wc.problem, s, "model.pt") for s in segment_of(wc).lineage()[:-1]]


def root_latent(wc):
    return segment_file(wc.problem, segment_of(wc).lineage()[0], "latent.nc")


def model_stage_files(wc, name="model.pt"):
    """One file per stage of model {model}, stage 1 first."""
    return [segment_file(wc.problem, s, name) for s in model_segments(wc.problem, wc.model)]


def model_stage1_file(wc, name):
    """A file of the stage-1 segment of model {model} (latent.nc, coefficients.nc)."""
    return segment_file(wc.problem, model_segments(wc.problem, wc.model)[0], name)


def per_model(name):
    """{model: results/<problem>/<model>/<name>} for every model of the problem."""
    return lambda wc: {m: f"{RESULTS}/{wc.problem}/{m}/{name}" for m in models(wc.problem)}


def per_model_stage_files(name):
    """{model: [file of each stage]} for every model of the problem."""
    def files(wc):
        return {m: [segment_file(wc.problem, s, name) for s in model_segments(wc.problem, m)]
                for m in models(wc.problem)}
    return files


def flat(mapping_fn):
    return lambda wc: [f for files in mapping_fn(wc).values() for f in files]


def lasdi_report_outputs(problem):
    """Tables and figures of one mLaSDI problem (written by romflow.lasdi.publish)."""
    return list(lasdi_report_files(problem).values())


LASDI_FILES = {
    "csv": "tables/errors.csv", "tex": "tables/errors.tex",
    "fig2": "figures/fig2_loss_latent.png", "fig3": "figures/fig3_reconstruction.png",
    "fig4": "figures/fig4_errors.png", "figA10": "figures/figA10_kappa.png",
    "kappa": "tables/kappa.csv",
    "fig6": "figures/fig6_errors.png", "fig7": "figures/fig7_snapshot.png",
    "summary": "tables/sweep.csv", "reduction": "tables/fig9_reduction.csv",
    "fig8": "figures/fig8_error_plane.png", "fig9": "figures/fig9_sweep.png",
    "figB11": "figures/figB11_quadratic.png",
}
LASDI_OUTPUTS = {"toy": ("fig2", "fig3", "fig4", "figA10", "kappa"),
                 "wake": ("fig6", "fig7"),
                 "vlasov": ("summary", "reduction", "fig8", "fig9", "figB11")}


def lasdi_report_files(problem):
    return {name: f"{RESULTS}/{problem}/{LASDI_FILES[name]}"
            for name in ("csv", "tex", *LASDI_OUTPUTS[problem])}


#: Report label and caption template (workflow/report/<key>.rst) of each mLaSDI figure.
LASDI_FIGURES = {
    "fig2": ("Fig. 2: loss, latents", "lasdi_fig2"),
    "fig3": ("Fig. 3: reconstruction", "lasdi_fig3"),
    "fig4": ("Fig. 4: error over time", "lasdi_fig4"),
    "figA10": ("Fig. A.10: error vs κ", "lasdi_figA10"),
    "fig6": ("Fig. 6: error over time", "lasdi_fig6"),
    "fig7": ("Fig. 7: snapshot", "lasdi_fig7"),
    "fig8": ("Fig. 8: error over the (T, k) plane", "lasdi_fig8"),
    "fig9": ("Fig. 9: mLaSDI vs GPLaSDI", "lasdi_fig9"),
    "figB11": ("Fig. B.11: linear vs quadratic library", "lasdi_figB11"),
}


def lasdi_report_outputs_reported(problem):
    """lasdi_report_files with every figure marked for the report."""
    return {name: reported(path, LASDI_FIGURES[name][1], LASDI_FIGURES[name][0],
                           problem=problem) if name in LASDI_FIGURES else path
            for name, path in lasdi_report_files(problem).items()}


def lasdi_report_inputs(problem):
    wc = SimpleNamespace(problem=problem)
    return {
        "fom": f"{RESULTS}/{problem}/fom.nc",
        "errors": list(per_model("errors.nc")(wc).values()),
        "predictions": list(per_model("prediction.nc")(wc).values()),
        "losses": flat(per_model_stage_files("loss.nc"))(wc),
        "latents": [segment_file(problem, model_segments(problem, m)[0], "latent.nc")
                    for m in models(problem)],
    }


def lasdi_report_params(problem):
    specs = lasdi_plan(problem)[0]
    sweeps = CFG[problem].get("sweeps") or {}
    kappa = [{"name": n, "base": s["base"]} for n, s in sweeps.items() if "kappa" in s]
    return {"problem": problem, "models": list(specs),
            "stage_counts": [len(s.stages) for s in specs.values()],
            "scale": CFG["scale"], "reduced": "; ".join(REDUCED[problem]),
            "published": published("mlasdi"),  # for the figures' captions
            "options": {"figure8": CFG[problem].get("figure8", ""),
                        "kappa_sweep": kappa[0] if kappa else None}}
