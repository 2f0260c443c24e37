# Tables and figures per problem.


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
    conda:
        ENV
    script:
        "../scripts/report_lasdi.py"
