"""romflow: reduced-order modeling workflows.

    snakemake --cores 8 all                       # default scale: quick
    snakemake --cores 2 all --config scale=test   # seconds per rule
    snakemake --profile profiles/slurm all        # SLURM cluster, GPU rules get a GPU
    snakemake --report results/report.html        # every figure and table, one page

The configuration (config.yaml, the chosen scale preset over it, and what
--config / --configfile set over both) is validated against
workflow/schemas/config.schema.yaml before any job runs.
"""

from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


ROOT = Path(workflow.basedir)


configfile: ROOT / "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/fom.smk"
include: "workflow/rules/lasdi_inputs.smk"
include: "workflow/rules/lasdi.smk"
include: "workflow/rules/hybrid.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_outputs(),
        report_outputs(),
    default_target: True
