# Full-order models: results/{problem}/fom.nc


rule fom:
    output:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
    params:
        fom=lambda wc: CFG[wc.problem]["fom"],
        problem=lambda wc: wc.problem,
    log:
        f"{LOGS}/{{problem}}/fom.log",
    benchmark:
        f"{BENCH}/{{problem}}/fom.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/fom.py"
