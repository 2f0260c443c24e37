# mLaSDI family: stage segments -> GP -> rollout (+ errors) -> reports.
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
#   results/<problem>/<model>/coefficients.nc, prediction.nc, errors.nc

import functools

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


def model_latent(wc):
    return segment_file(wc.problem, model_segments(wc.problem, wc.model)[0], "latent.nc")


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
        latent=model_latent,
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
