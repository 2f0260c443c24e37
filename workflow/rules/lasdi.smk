# mLaSDI family: stage segments -> GP -> rollout (+ errors) -> reports
# (input functions and the file layout: lasdi_inputs.smk).


rule train_stage1:
    input:
        fom=f"{RESULTS}/{{problem}}/fom.nc",
        resume=resume_input,
    output:
        model=f"{RESULTS}/{{problem}}/stages/{{chain}}/it{{iters}}/model.pt",
        state=f"{RESULTS}/{{problem}}/stages/{{chain}}/it{{iters}}/state.pt",
        latent=f"{RESULTS}/{{problem}}/stages/{{chain}}/it{{iters}}/latent.nc",
        loss=f"{RESULTS}/{{problem}}/stages/{{chain}}/it{{iters}}/loss.nc",
    params:
        segment=segment_params,
    log:
        f"{LOGS}/{{problem}}/stages/{{chain}}/it{{iters}}/train.log",
    benchmark:
        f"{BENCH}/{{problem}}/stages/{{chain}}/it{{iters}}/train.tsv"
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
        latent=root_latent,
        previous=ancestor_models,
        resume=resume_input,
    output:
        model=f"{RESULTS}/{{problem}}/stages/{{parent}}/{{chain}}/it{{iters}}/model.pt",
        state=f"{RESULTS}/{{problem}}/stages/{{parent}}/{{chain}}/it{{iters}}/state.pt",
        residual=f"{RESULTS}/{{problem}}/stages/{{parent}}/{{chain}}/it{{iters}}/residual.nc",
        loss=f"{RESULTS}/{{problem}}/stages/{{parent}}/{{chain}}/it{{iters}}/loss.nc",
    params:
        segment=segment_params,
    log:
        f"{LOGS}/{{problem}}/stages/{{parent}}/{{chain}}/it{{iters}}/train.log",
    benchmark:
        f"{BENCH}/{{problem}}/stages/{{parent}}/{{chain}}/it{{iters}}/train.tsv"
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
        latent=f"{RESULTS}/{{problem}}/stages/{{chain}}/it{{iters}}/latent.nc",
    output:
        coefficients=f"{RESULTS}/{{problem}}/stages/{{chain}}/it{{iters}}/coefficients.nc",
    params:
        gp=CFG["lasdi"]["gp"],
        seed=CFG["seed"],
    log:
        f"{LOGS}/{{problem}}/stages/{{chain}}/it{{iters}}/gp.log",
    benchmark:
        f"{BENCH}/{{problem}}/stages/{{chain}}/it{{iters}}/gp.tsv"
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
        coefficients=lambda wc: model_stage1_file(wc, "coefficients.nc"),
        models=model_stage_files,
    output:
        prediction=f"{RESULTS}/{{problem}}/{{model}}/prediction.nc",
        errors=f"{RESULTS}/{{problem}}/{{model}}/errors.nc",
    params:
        rollout=CFG["lasdi"]["rollout"],
        store_states=lambda wc: CFG[wc.problem]["store_states"],
    log:
        f"{LOGS}/{{problem}}/{{model}}/rollout.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{model}}/rollout.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=GPU,
    conda:
        ENV
    script:
        "../scripts/rollout.py"
