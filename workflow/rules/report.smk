# Tables and figures per problem (input functions: lasdi_inputs.smk).


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
