# mLaSDI family: stage 1 -> stages k >= 2 -> GP -> rollout -> evaluate.


rule train_stage1:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
    output:
        model=f"{RESULTS}/{{problem}}/{{model}}/stage1.pt",
        latent=f"{RESULTS}/{{problem}}/{{model}}/latent.nc",
        loss=f"{RESULTS}/{{problem}}/{{model}}/loss_stage1.nc",
    params:
        stage=lambda wc: stage_params(wc, 1),
    log:
        f"{LOGS}/{{problem}}/{{model}}/train_stage1.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{model}}/train_stage1.tsv"
    threads: 1
    priority: PRIORITY_LONG_CHAIN
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPU,
    conda:
        ENV
    script:
        "../scripts/train_stage1.py"


rule train_stage:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
        latent=f"{RESULTS}/{{problem}}/{{model}}/latent.nc",
        previous=lambda wc: stage_models(wc, int(wc.k) - 1),
    output:
        model=f"{RESULTS}/{{problem}}/{{model}}/stage{{k}}.pt",
        residual=f"{RESULTS}/{{problem}}/{{model}}/residual_stage{{k}}.nc",
        loss=f"{RESULTS}/{{problem}}/{{model}}/loss_stage{{k}}.nc",
    params:
        stage=lambda wc: stage_params(wc, int(wc.k)),
    log:
        f"{LOGS}/{{problem}}/{{model}}/train_stage{{k}}.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{model}}/train_stage{{k}}.tsv"
    threads: 1
    priority: PRIORITY_LONG_CHAIN
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=GPU,
    conda:
        ENV
    script:
        "../scripts/train_stage.py"


rule gp:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
        latent=f"{RESULTS}/{{problem}}/{{model}}/latent.nc",
    output:
        coefficients=f"{RESULTS}/{{problem}}/{{model}}/coefficients.nc",
    params:
        gp=CFG["lasdi"]["gp"],
        seed=CFG["seed"],
    log:
        f"{LOGS}/{{problem}}/{{model}}/gp.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{model}}/gp.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/gp.py"


rule rollout:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
        coefficients=f"{RESULTS}/{{problem}}/{{model}}/coefficients.nc",
        models=stage_models,
    output:
        prediction=f"{RESULTS}/{{problem}}/{{model}}/prediction.nc",
    params:
        rollout=CFG["lasdi"]["rollout"],
    log:
        f"{LOGS}/{{problem}}/{{model}}/rollout.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{model}}/rollout.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPU,
    conda:
        ENV
    script:
        "../scripts/rollout.py"


rule evaluate:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
        prediction=f"{RESULTS}/{{problem}}/{{model}}/prediction.nc",
    output:
        errors=f"{RESULTS}/{{problem}}/{{model}}/errors.nc",
    log:
        f"{LOGS}/{{problem}}/{{model}}/evaluate.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{model}}/evaluate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        ENV
    script:
        "../scripts/evaluate.py"
