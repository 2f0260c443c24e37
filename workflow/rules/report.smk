# Tables and figures per problem (input functions: lasdi_inputs.smk), and the report's
# pages: the tables as HTML, with the paper's numbers beside ours, and the index of
# what made every file.


for _problem in LASDI_PROBLEMS:

    rule:
        name:
            f"report_{_problem}"
        input:
            **lasdi_report_inputs(_problem),
        output:
            **lasdi_report_outputs_reported(_problem),
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


rule table_html:
    input:
        csv=f"{RESULTS}/{{problem}}/tables/{{table}}.csv",
    output:
        html=reported(f"{RESULTS}/{{problem}}/tables/{{table}}.html", "table",
                      lambda wc: report_table(wc)["item"]),
    params:
        title=lambda wc: report_table(wc)["title"],
        kind=lambda wc: report_table(wc)["kind"],
        published=lambda wc: report_table(wc)["published"],
    log:
        f"{LOGS}/{{problem}}/table_html_{{table}}.log",
    benchmark:
        f"{BENCH}/{{problem}}/table_html_{{table}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/table_html.py"


rule provenance:
    input:
        results=lambda wc: all_outputs() + report_tables(),
    output:
        readme=f"{RESULTS}/README.md",
        page=reported(f"{RESULTS}/report/provenance.html", "provenance",
                      "what made each file", problem=None, category="Provenance"),
    log:
        f"{LOGS}/provenance.log",
    benchmark:
        f"{BENCH}/provenance.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../scripts/provenance.py"
