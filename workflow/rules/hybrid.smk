# Hybrid family: closed-form linear theory (Fig. 6-7).


rule linear_theory:
    input:
        pairs=lambda wc: [f"{RESULTS}/linear/{case}/pairs.nc" for case in hybrid_cases("linear")],
    output:
        sweep=f"{RESULTS}/linear/sweep.nc",
        table=f"{RESULTS}/linear/tables/terminal_error.csv",
        fig6=f"{RESULTS}/linear/figures/fig6_error_vs_step.png",
        fig7=f"{RESULTS}/linear/figures/fig7_terminal_vs_lambda.png",
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
