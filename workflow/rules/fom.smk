# Full-order models: results/{problem}/fom.nc (mLaSDI family) and
# results/{problem}/{case}/pairs.nc (hybrid family: states and unresolved parts).


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
    priority: PRIORITY_LONG_CHAIN
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../scripts/fom.py"


rule fom_pairs:
    output:
        pairs=f"{RESULTS}/{{problem}}/{{case}}/pairs.nc",
    wildcard_constraints:
        problem="linear",
    params:
        fom=lambda wc: CFG[wc.problem]["fom"],
        case=case_params,
        problem=lambda wc: wc.problem,
        seed=CFG["seed"],
    log:
        f"{LOGS}/{{problem}}/{{case}}/fom.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{case}}/fom.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/fom_pairs.py"


# rd and channel: results/{problem}/{protocol}/{case}/pairs.nc, one per protocol whose
# FOM settings differ (a protocol with the same ones reads the first one's, fom_owner).
rule protocol_pairs:
    output:
        pairs=f"{RESULTS}/{{problem}}/{{protocol}}/{{case}}/pairs.nc",
    wildcard_constraints:
        problem="|".join(PROTOCOL_PROBLEMS),
    params:
        fom=lambda wc: section(wc.problem, wc.protocol)["fom"],
        case=case_params,
        problem=lambda wc: wc.problem,
        seed=CFG["seed"],
    log:
        f"{LOGS}/{{problem}}/{{protocol}}/{{case}}/fom.log",
    benchmark:
        f"{BENCH}/{{problem}}/{{protocol}}/{{case}}/fom.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/fom_pairs.py"
