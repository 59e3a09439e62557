"""Ready-made steps: statistics, schema inference, validation and drift, for any pipeline.

::

    from bevel import pipeline
    from bevel.data import drift_step, profile_step, schema_step, validate_step

    @pipeline
    def check(day: str = "2024-01-01"):
        reference, batch = load_reference(), load_batch(day)
        profile_step(batch)                              # statistics, with their report
        report = validate_step(batch, schema_step(reference), on_anomaly="fail")
        drift_step(reference, batch, after=report)

Each output is an artifact with its HTML visualization (``bevel artifacts visualize ID``).
``validate_step`` also takes a schema as a parameter: ``schema=Schema.load("schema.yaml")
.to_dict()`` makes the schema's content part of the step's cache key, so editing the YAML
re-runs the validation. The steps log a one-line summary (``bevel logs RUN STEP``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import pandas as pd

from bevel.authoring.step import step
from bevel.data.drift_detection import DriftReport, drift
from bevel.data.schema import Schema, infer_schema
from bevel.data.statistics import Profile, profile
from bevel.data.validation import AnomalyReport, validate
from bevel.errors import DataError

# A child of the step logger: captured into the step log at INFO like current.logger.
log = logging.getLogger("bevel.step.data")


@step
def profile_step(data: pd.DataFrame, sample: int | None = None) -> Annotated[Profile, "statistics"]:
    """Statistics of ``data`` (exact unless ``sample`` rows are given for the estimates)."""
    stats = profile(data, sample=sample)
    log.info("profiled %s rows x %s columns", f"{stats.rows:,}", len(stats.columns))
    return stats


@step
def schema_step(
    data: pd.DataFrame, max_categories: int = 50, range_margin: float = 0.0
) -> Annotated[Schema, "schema"]:
    """The schema inferred from ``data`` (see :func:`bevel.data.infer_schema`)."""
    schema = infer_schema(data, max_categories=max_categories, range_margin=range_margin)
    log.info("inferred a schema of %d columns", len(schema.columns))
    return schema


@step
def validate_step(
    data: pd.DataFrame, schema: Schema | dict[str, Any], on_anomaly: str = "fail"
) -> Annotated[AnomalyReport, "anomalies"]:
    """Check ``data`` against ``schema`` (an artifact, or a ``Schema.to_dict()`` parameter).

    ``on_anomaly``: ``"fail"`` (default) fails the step, listing every anomaly; ``"warn"``
    logs a warning and passes; ``"ignore"`` only records the report."""
    if isinstance(schema, dict) and "columns" not in schema:
        raise DataError(
            "validate_step: the schema parameter is not a schema",
            hint="pass the output of schema_step, or Schema.load('schema.yaml').to_dict()",
        )
    report = validate(data, schema, on_anomaly="fail" if on_anomaly == "fail" else "ignore")
    if report.ok:
        log.info("validated: %s", report.summary())
    elif on_anomaly == "warn":
        log.warning("validation: %s", report.summary())
        for anomaly in report.anomalies[:20]:
            log.warning("  - %s", anomaly)
    return report


@step
def drift_step(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    alpha: float = 0.05,
    psi_threshold: float = 0.1,
    on_drift: str = "ignore",
) -> Annotated[DriftReport, "drift"]:
    """Drift of ``current`` against ``reference``; ``on_drift="fail"`` fails the step when
    dataset drift is detected, ``"warn"`` logs a warning."""
    if on_drift not in ("ignore", "warn", "fail"):
        raise DataError(
            f"on_drift must be ignore, warn or fail, got {on_drift!r}",
            hint='e.g. drift_step(reference, current, on_drift="warn")',
        )
    report = drift(reference, current, alpha=alpha, psi_threshold=psi_threshold)
    if report.drift_detected and on_drift == "fail":
        raise DataError(
            f"drift check failed: {report.summary()}",
            hint="look at the drift report (bevel artifacts visualize), retrain on recent "
            "data, or raise psi_threshold if the change is expected",
        )
    level = logging.WARNING if report.drift_detected and on_drift == "warn" else logging.INFO
    log.log(level, "%s", report.summary())
    return report
