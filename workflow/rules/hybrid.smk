# Hybrid family: closed-form linear theory (Fig. 6-7).


rule linear_theory:
    input:
        pairs=lambda wc: [f"{RESULTS}/linear/{case}/pairs.nc" for case in hybrid_cases("linear")],
    output:
        sweep=f"{RESULTS}/linear/sweep.nc",
        table=f"{RESULTS}/linear/tables/terminal_error.csv",
        fig6=reported(f"{RESULTS}/linear/figures/fig6_error_vs_step.png", "linear_fig6",
                      "Fig. 6: error over the steps", problem="linear"),
        fig7=reported(f"{RESULTS}/linear/figures/fig7_terminal_vs_lambda.png", "linear_fig7",
                      "Fig. 7: terminal error vs λ", problem="linear"),
    params:
        theory=CFG["linear"]["theory"],
        scale=CFG["scale"],
    log:
        f"{LOGS}/linear/theory.log",
    benchmark:
        f"{BENCH}/linear/theory.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        ENV
    script:
        "../scripts/linear_theory.py"


# Learned closures (rd and channel; the resolved step comes from the pairs file), one
# tree per protocol: results/{problem}/{protocol}/{case}/ manifold -> closure (per split
# and estimator) -> hybrid_rollout -> Table 1 and Fig. 4 (rd), Table 2 and Fig. 5 (channel).
CASE = f"{RESULTS}/{{problem}}/{{protocol}}/{{case}}"
RUN = f"{CASE}/split{{split}}/{{estimator}}"
CASE_LOG = f"{LOGS}/{{problem}}/{{protocol}}/{{case}}"
CASE_BENCH = f"{BENCH}/{{problem}}/{{protocol}}/{{case}}"


rule manifold:
    input:
        pairs=pairs_file,
    output:
        model=f"{CASE}/manifold.pt",
        normals=f"{CASE}/normals.nc",
        loss=f"{CASE}/manifold_loss.nc",
    params:
        manifold=lambda wc: {**hybrid_cfg(wc)["manifold"], "every": hybrid_cfg(wc)["every"]},
        case=case_params,
    log:
        f"{CASE_LOG}/manifold.log",
    benchmark:
        f"{CASE_BENCH}/manifold.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=GPU,
    conda:
        ENV
    script:
        "../scripts/manifold.py"


rule closure:
    input:
        pairs=pairs_file,
        normals=f"{CASE}/normals.nc",
    output:
        model=f"{RUN}/closure.pt",
        loss=f"{RUN}/loss.nc",
    params:
        closure=closure_params,
        train=lambda wc: split_ids(wc)[0],
        seed=lambda wc: CFG["seed"] + int(wc.split),
    log:
        f"{CASE_LOG}/split{{split}}/{{estimator}}/closure.log",
    benchmark:
        f"{CASE_BENCH}/split{{split}}/{{estimator}}/closure.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=GPU,
    conda:
        ENV
    script:
        "../scripts/closure.py"


rule hybrid_rollout:
    input:
        pairs=pairs_file,
        manifold=f"{CASE}/manifold.pt",
        closure=f"{RUN}/closure.pt",
    output:
        rollout=f"{RUN}/rollout.nc",
    params:
        rollout=lambda wc: hybrid_cfg(wc)["rollout"],
        report=lambda wc: hybrid_cfg(wc)["report"],
        resolved_step=lambda wc: hybrid_cfg(wc)["resolved_step"],
        test=lambda wc: split_ids(wc)[1],
    log:
        f"{CASE_LOG}/split{{split}}/{{estimator}}/rollout.log",
    benchmark:
        f"{CASE_BENCH}/split{{split}}/{{estimator}}/rollout.tsv"
    threads: 1
    # One state at a time, the resolved step in float64: a rollout runs on the CPU
    # and asks for no GPU (the manifold and closure rules train on one).
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    script:
        "../scripts/hybrid_rollout.py"


rule rd_report:
    input:
        rollouts=lambda wc: hybrid_rollouts("rd"),
    output:
        table=f"{RESULTS}/rd/tables/table1.csv",
        latex=f"{RESULTS}/rd/tables/table1.tex",
        snapshots=reported(f"{RESULTS}/rd/figures/fig4_snapshots.png", "rd_fig4_snapshots",
                           "Fig. 4: snapshots", problem="rd"),
        curves=reported(f"{RESULTS}/rd/figures/fig4_error_shift.png", "rd_fig4_error_shift",
                        "Fig. 4: error and shift", problem="rd"),
    params:
        scale=CFG["scale"],
        published=published("hybrid", "table1"),  # for the figures' captions
        protocols=protocols("rd"),
        figure_protocol=protocols("rd")[0],
        unresolved={p: section("rd", p)["fom"]["unresolved"] for p in protocols("rd")},
    log:
        f"{LOGS}/rd/report.log",
    benchmark:
        f"{BENCH}/rd/report.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        ENV
    script:
        "../scripts/report_rd.py"


rule rd_lambda_sweep:
    input:
        rollouts=lambda wc: hybrid_rollouts("rd", sweep=True),
    output:
        table=f"{RESULTS}/rd/tables/lambda_sweep.csv",
        figure=reported(f"{RESULTS}/rd/figures/lambda_sweep.png", "rd_lambda_sweep",
                        "λ sweep: error vs λ", problem="rd"),
    params:
        scale=CFG["scale"],
    log:
        f"{LOGS}/rd/lambda_sweep.log",
    benchmark:
        f"{BENCH}/rd/lambda_sweep.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        ENV
    script:
        "../scripts/report_rd_sweep.py"


rule channel_report:
    input:
        rollouts=lambda wc: hybrid_rollouts("channel"),
    output:
        table=f"{RESULTS}/channel/tables/table2.csv",
        latex=f"{RESULTS}/channel/tables/table2.tex",
        snapshots=reported(f"{RESULTS}/channel/figures/fig5_snapshots.png",
                           "channel_fig5_snapshots", "Fig. 5: snapshots", problem="channel"),
        curves=reported(f"{RESULTS}/channel/figures/fig5_error_shift.png",
                        "channel_fig5_error_shift", "Fig. 5: error and shift",
                        problem="channel"),
    params:
        scale=CFG["scale"],
        published=published("hybrid", "table2"),
        figure_protocol=protocols("channel")[0],
        report=section("channel", protocols("channel")[0])["hybrid"]["report"],
    log:
        f"{LOGS}/channel/report.log",
    benchmark:
        f"{BENCH}/channel/report.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        ENV
    script:
        "../scripts/report_channel.py"
