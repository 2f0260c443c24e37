# Tables and figures per problem.


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


rule report_lasdi:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
        errors=lambda wc: per_model("errors.nc")(wc).values(),
        predictions=lambda wc: per_model("prediction.nc")(wc).values(),
        losses=lambda wc: per_model("loss_stage1.nc")(wc).values(),
        latents=lambda wc: per_model("latent.nc")(wc).values(),
    output:
        csv=f"{RESULTS}/{{problem}}/tables/errors.csv",
        tex=f"{RESULTS}/{{problem}}/tables/errors.tex",
        fig2=f"{RESULTS}/{{problem}}/figures/fig2_loss_latent.png",
        fig3=f"{RESULTS}/{{problem}}/figures/fig3_reconstruction.png",
        fig4=f"{RESULTS}/{{problem}}/figures/fig4_errors.png",
    params:
        models=lambda wc: models(wc.problem),
        paper=lambda wc: {m: e.get("paper", "") for m, e in CFG[wc.problem]["models"].items()},
        scale=CFG["scale"],
    log:
        f"{LOGS}/{{problem}}/report.log",
    benchmark:
        f"{BENCH}/{{problem}}/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    script:
        "../scripts/report_lasdi.py"
