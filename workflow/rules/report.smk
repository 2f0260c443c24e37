# Tables and figures per problem.

from types import SimpleNamespace


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
            "options": {"figure8": CFG[problem].get("figure8", ""),
                        "kappa_sweep": kappa[0] if kappa else None}}


for _problem in LASDI_PROBLEMS:

    rule:
        name:
            f"report_{_problem}"
        input:
            **lasdi_report_inputs(_problem),
        output:
            **lasdi_report_files(_problem),
        params:
            **lasdi_report_params(_problem),
        log:
            f"{LOGS}/{_problem}/report.log",
        benchmark:
            f"{BENCH}/{_problem}/report.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            ENV
        script:
            "../scripts/report_lasdi.py"
