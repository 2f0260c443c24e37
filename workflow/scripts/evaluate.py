"""Rule evaluate: eq. (25) errors of every stage's prediction against the FOM."""

from romflow import io
from romflow.metrics import evaluate
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    fom = io.open_dataset(snakemake.input.fom, "fom")
    prediction = io.open_dataset(snakemake.input.prediction, "prediction")
    errors = evaluate(fom, prediction)
    for stage in errors["stage"].values:
        e = errors["max_rel_error"].sel(stage=stage).values
        ctx.log(f"{stage} stage(s): max rel. error per parameter {e.round(4).tolist()}")
    io.write_dataset(errors, snakemake.output.errors, "errors")
