"""bevel.data: statistics, schemas and anomalies, drift, and ready-made steps for them.

Needs the ``data`` extra (``pip install 'bevel[data]'``: pandas, pyarrow, scipy, pandera). The
names below load on first use, so ``import bevel.data`` itself imports none of them::

    from bevel.data import drift, infer_schema, profile, validate

    stats = profile(df)                        # statistics (HTML in a notebook)
    schema = infer_schema(train_df)            # editable, saveable as YAML
    report = validate(new_df, schema)          # every anomaly, with counts and examples
    shift = drift(train_df, new_df)            # per-column tests, drift_detected
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel._lazy import lazy_getattr

_EXPORTS = {
    "profile": "bevel.data.statistics:profile",
    "Profile": "bevel.data.statistics:Profile",
    "ColumnProfile": "bevel.data.statistics:ColumnProfile",
    "infer_schema": "bevel.data.schema:infer_schema",
    "Schema": "bevel.data.schema:Schema",
    "ColumnSchema": "bevel.data.schema:ColumnSchema",
    "validate": "bevel.data.validation:validate",
    "AnomalyReport": "bevel.data.validation:AnomalyReport",
    "Anomaly": "bevel.data.validation:Anomaly",
    "AnomaliesFound": "bevel.data.validation:AnomaliesFound",
    "drift": "bevel.data.drift_detection:drift",
    "DriftReport": "bevel.data.drift_detection:DriftReport",
    "ColumnDrift": "bevel.data.drift_detection:ColumnDrift",
    "profile_step": "bevel.data.steps:profile_step",
    "schema_step": "bevel.data.steps:schema_step",
    "validate_step": "bevel.data.steps:validate_step",
    "drift_step": "bevel.data.steps:drift_step",
}

__all__ = [
    "AnomaliesFound",
    "Anomaly",
    "AnomalyReport",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnSchema",
    "DriftReport",
    "Profile",
    "Schema",
    "drift",
    "drift_step",
    "infer_schema",
    "profile",
    "profile_step",
    "schema_step",
    "validate",
    "validate_step",
]

if TYPE_CHECKING:
    from bevel.data.drift_detection import ColumnDrift, DriftReport, drift
    from bevel.data.schema import ColumnSchema, Schema, infer_schema
    from bevel.data.statistics import ColumnProfile, Profile, profile
    from bevel.data.steps import drift_step, profile_step, schema_step, validate_step
    from bevel.data.validation import AnomaliesFound, Anomaly, AnomalyReport, validate

__getattr__ = lazy_getattr("bevel.data", _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
