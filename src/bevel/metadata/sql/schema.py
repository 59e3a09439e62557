"""The metadata tables, as SQLAlchemy Core (no ORM: it would cost ~50 ms more to import).

This module is the source of truth for the *current* schema; the Alembic scripts in
``migrations/versions`` must produce exactly it on every database (a test compares them with
Alembic's autogenerate diff). Changing a table here therefore means adding a migration too, and
bumping :data:`bevel.metadata.sql.revision.HEAD`.

Portability rules (SQLite, PostgreSQL, MySQL/MariaDB):

- ids are ``String(32)`` (uuid4 hex); names and keys ``String(255)``, because MySQL needs a
  length for an indexed column and limits index keys to 3072 bytes (255 utf8mb4 chars = 1020);
- long or unbounded values are :class:`LongText` / :class:`JsonText` (``LONGTEXT`` on MySQL);
- datetimes are :class:`UtcDateTime` (aware UTC in, aware UTC out);
- constraint and index names come from one naming convention, so later migrations can refer
  to them by name on every database.

Foreign keys document the relations and guard inserts; deletes are done explicitly by the store
in dependency order (no ``ON DELETE CASCADE``), so behaviour does not depend on whether SQLite's
``foreign_keys`` pragma happens to be on. Two references are deliberately *not* foreign keys:
``step_runs.cached_from`` (a cached run outlives the run it reused outputs from) and
``metadata_entries.entity_id`` (it points at one of three tables).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from bevel.metadata.sql.types import JsonText, LongText, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# MySQL/MariaDB tables are created with full Unicode and binary collation, so that names compare
# (and are unique) case- and trailing-space-sensitively, as on SQLite and PostgreSQL. Only the
# migrations need these options (the tables below are used for queries, never to create), and
# leaving them off here keeps SQLAlchemy from loading its MySQL dialect to validate them.
MYSQL_TABLE_OPTIONS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

ID = 32  # uuid4 hex
NAME = 255
STATUS = 16
HASH = 128  # "blake3:" or "sha256:" + 64 hex, with room for longer digests

pipelines = Table(
    "pipelines",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("created", UtcDateTime(), nullable=False),
    Column("source", LongText(), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("pipeline", String(NAME), ForeignKey("pipelines.name"), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("status", String(STATUS), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("ended", UtcDateTime(), nullable=True),
    Column("params", JsonText(), nullable=False),
    Column("config", JsonText(), nullable=False),
    Column("plan", JsonText(), nullable=False),
    Column("code_fingerprint", String(HASH), nullable=False),
    Column("stack", String(NAME), nullable=False),
    Column("error", LongText(), nullable=True),
    Column("host", String(NAME), nullable=False),
    Column("heartbeat", UtcDateTime(), nullable=True),
    UniqueConstraint("name"),
    Index(None, "pipeline", "created"),
    Index(None, "status", "created"),
    Index(None, "created"),
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=False),
    Column("step_id", String(NAME), nullable=False),
    Column("step_name", String(NAME), nullable=False),
    Column("status", String(STATUS), nullable=False),
    Column("started", UtcDateTime(), nullable=False),
    Column("ended", UtcDateTime(), nullable=True),
    Column("cache_key", String(HASH), nullable=True),
    Column("cached_from", String(ID), nullable=True),
    Column("attempts", Integer(), nullable=False),
    Column("params", JsonText(), nullable=False),
    Column("code_hash", String(HASH), nullable=False),
    Column("error", LongText(), nullable=True),
    Column("traceback", LongText(), nullable=True),
    Column("logs_uri", LongText(), nullable=True),
    Column("cache_ingredients", JsonText(), nullable=False),
    Index(None, "run_id", "started"),
    Index(None, "cache_key", "status", "started"),
    Index(None, "step_id", "started"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("uri", LongText(), nullable=False),
    Column("type_ref", LongText(), nullable=False),
    Column("materializer", LongText(), nullable=False),
    Column("materializer_version", String(NAME), nullable=False),
    Column("content_hash", String(HASH), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("producer_step_run_id", String(ID), ForeignKey("step_runs.id"), nullable=True),
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=True),
    Column("output_name", String(NAME), nullable=False),
    Column("metadata", JsonText(), nullable=False),
    Column("visualizations", JsonText(), nullable=False),
    Column("python_version", String(32), nullable=True),
    Column("created", UtcDateTime(), nullable=False),
    # Also serves "artifacts by name" (leftmost column of the unique index).
    UniqueConstraint("name", "version"),
    Index(None, "content_hash"),
    Index(None, "run_id"),
    Index(None, "producer_step_run_id"),
    Index(None, "created"),  # the artifact listing, newest first (revision 0005)
)

lineage = Table(
    "lineage",
    metadata,
    Column("step_run_id", String(ID), ForeignKey("step_runs.id"), nullable=False),
    Column("direction", String(3), nullable=False),  # "in" | "out"
    Column("name", String(NAME), nullable=False),
    Column("artifact_id", String(ID), ForeignKey("artifacts.id"), nullable=False),
    # One artifact per input name and per output name of a step run; also "edges by step run".
    PrimaryKeyConstraint("step_run_id", "direction", "name"),
    Index(None, "artifact_id"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=False),
    Column("step_run_id", String(ID), ForeignKey("step_runs.id"), nullable=True),
    Column("key", String(NAME), nullable=False),
    Column("value", Double(), nullable=False),
    Column("step", Integer(), nullable=True),
    Column("created", UtcDateTime(), nullable=False),
    Index(None, "run_id", "key"),
    Index(None, "step_run_id"),
)

metadata_entries = Table(
    "metadata_entries",
    metadata,
    Column("entity", String(16), nullable=False),  # "run" | "step_run" | "artifact"
    Column("entity_id", String(ID), nullable=False),
    Column("key", String(NAME), nullable=False),
    Column("value", JsonText(), nullable=True),
    Column("created", UtcDateTime(), nullable=False),
    # Logging a key again replaces its value.
    PrimaryKeyConstraint("entity", "entity_id", "key"),
)

# --- stack definitions (revision 0002) --------------------------------------------------------
# Names are the keys: a component or stack is addressed by name everywhere (CLI, YAML export).
# ``stack_members.component`` is deliberately not a foreign key: a stack may use the built-in
# components (``local``, ``local-artifacts``, ``home-metadata``), which are never stored.

TYPE = 32  # component type: "artifact_store", "experiment_tracker", ...

components = Table(
    "components",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("type", String(TYPE), nullable=False),
    Column("flavor", String(NAME), nullable=False),
    Column("config", JsonText(), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("updated", UtcDateTime(), nullable=False),
    Index(None, "type"),
)

stacks = Table(
    "stacks",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("created", UtcDateTime(), nullable=False),
)

stack_members = Table(
    "stack_members",
    metadata,
    Column("stack", String(NAME), ForeignKey("stacks.name"), nullable=False),
    Column("type", String(TYPE), nullable=False),
    Column("component", String(NAME), nullable=False),
    # At most one component of each type per stack; also "members by stack".
    PrimaryKeyConstraint("stack", "type"),
    Index(None, "component"),
)

secrets = Table(
    "secrets",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("value", LongText(), nullable=False),  # Fernet token: never the plain value
    Column("created", UtcDateTime(), nullable=False),
    Column("updated", UtcDateTime(), nullable=False),
)

# --- the bevel server's users and API keys (migration 0003) -----------------------------------
#
# Only the server reads these (bevel.server.auth). A key is stored as its SHA-256 (keys are 256
# random bits, so a slow password hash would add nothing but latency to every request); the key
# itself is shown once, when it is created.

ROLE = 16

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("kind", String(STATUS), nullable=False),  # "user" | "service"
    Column("role", String(ROLE), nullable=False),  # "viewer" | "editor" | "admin"
    Column("created", UtcDateTime(), nullable=False),
    Column("disabled", UtcDateTime(), nullable=True),
    UniqueConstraint("name"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(ID), primary_key=True),  # the public part of the key ("bvl_<id>_...")
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False),
    Column("label", String(NAME), nullable=False),
    Column("hash", String(HASH), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Column("expires", UtcDateTime(), nullable=True),
    Column("revoked", UtcDateTime(), nullable=True),
    Column("last_used", UtcDateTime(), nullable=True),
    Index(None, "user_id"),
)

# --- the model control plane (revision 0004) --------------------------------------------------
# At most one holder of ``staging`` and of ``production`` per model is a unique constraint, not
# a rule callers keep: ``exclusive_stage`` repeats ``stage`` for those two stages and is NULL
# otherwise (archived, none), and NULLs never collide in a unique index on SQLite, PostgreSQL
# and MySQL. Promotions also lock the model row first, so concurrent ones queue.

models = Table(
    "models",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("description", LongText(), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("model", String(NAME), ForeignKey("models.name"), nullable=False),
    Column("number", Integer(), nullable=False),
    Column("name", String(NAME), nullable=True),
    Column("run_id", String(ID), nullable=True),  # not a foreign key: a version outlives its run
    Column("stage", String(STATUS), nullable=True),
    Column("exclusive_stage", String(STATUS), nullable=True),
    Column("description", LongText(), nullable=False),
    Column("metadata", JsonText(), nullable=False),
    Column("metrics", JsonText(), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    UniqueConstraint("model", "number"),
    UniqueConstraint("model", "name"),
    UniqueConstraint("model", "run_id"),
    UniqueConstraint("model", "exclusive_stage"),
)

model_artifacts = Table(
    "model_artifacts",
    metadata,
    Column("version_id", String(ID), ForeignKey("model_versions.id"), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("artifact_id", String(ID), nullable=False),  # kept when the artifact's run is deleted
    Column("role", String(STATUS), nullable=False),
    PrimaryKeyConstraint("version_id", "name"),
    Index(None, "artifact_id"),
)

model_events = Table(
    "model_events",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("model", String(NAME), ForeignKey("models.name"), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("from_stage", String(STATUS), nullable=True),
    Column("to_stage", String(STATUS), nullable=True),
    Column("actor", String(NAME), nullable=False),
    Column("reason", LongText(), nullable=False),
    Column("created", UtcDateTime(), nullable=False),
    Index(None, "model", "id"),
)
