-- The head schema of the SQLite metadata store, exactly as `alembic upgrade head` creates it (a
-- test proves it). A new SQLite database is created from this file and stamped with the head
-- revision, without importing SQLAlchemy or Alembic. After adding a migration, regenerate it:
-- python -c "from bevel.metadata.sql.migrate import sqlite_ddl; print(sqlite_ddl(), end='')"

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE pipelines (
	name VARCHAR(255) NOT NULL, 
	created DATETIME NOT NULL, 
	source TEXT NOT NULL, 
	CONSTRAINT pk_pipelines PRIMARY KEY (name)
);

CREATE TABLE runs (
	id VARCHAR(32) NOT NULL, 
	pipeline VARCHAR(255) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created DATETIME NOT NULL, 
	ended DATETIME, 
	params TEXT NOT NULL, 
	config TEXT NOT NULL, 
	"plan" TEXT NOT NULL, 
	code_fingerprint VARCHAR(128) NOT NULL, 
	stack VARCHAR(255) NOT NULL, 
	error TEXT, 
	host VARCHAR(255) NOT NULL, 
	heartbeat DATETIME, 
	CONSTRAINT pk_runs PRIMARY KEY (id), 
	CONSTRAINT uq_runs_name UNIQUE (name), 
	CONSTRAINT fk_runs_pipeline_pipelines FOREIGN KEY(pipeline) REFERENCES pipelines (name)
);

CREATE INDEX ix_runs_pipeline_created ON runs (pipeline, created);

CREATE INDEX ix_runs_status_created ON runs (status, created);

CREATE INDEX ix_runs_created ON runs (created);

CREATE TABLE step_runs (
	id VARCHAR(32) NOT NULL, 
	run_id VARCHAR(32) NOT NULL, 
	step_id VARCHAR(255) NOT NULL, 
	step_name VARCHAR(255) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	started DATETIME NOT NULL, 
	ended DATETIME, 
	cache_key VARCHAR(128), 
	cached_from VARCHAR(32), 
	attempts INTEGER NOT NULL, 
	params TEXT NOT NULL, 
	code_hash VARCHAR(128) NOT NULL, 
	error TEXT, 
	traceback TEXT, 
	logs_uri TEXT, 
	cache_ingredients TEXT NOT NULL, 
	CONSTRAINT pk_step_runs PRIMARY KEY (id), 
	CONSTRAINT fk_step_runs_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id)
);

CREATE INDEX ix_step_runs_run_id_started ON step_runs (run_id, started);

CREATE INDEX ix_step_runs_cache_key_status_started ON step_runs (cache_key, status, started);

CREATE INDEX ix_step_runs_step_id_started ON step_runs (step_id, started);

CREATE TABLE artifacts (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	version INTEGER NOT NULL, 
	uri TEXT NOT NULL, 
	type_ref TEXT NOT NULL, 
	materializer TEXT NOT NULL, 
	materializer_version VARCHAR(255) NOT NULL, 
	content_hash VARCHAR(128) NOT NULL, 
	size BIGINT NOT NULL, 
	producer_step_run_id VARCHAR(32), 
	run_id VARCHAR(32), 
	output_name VARCHAR(255) NOT NULL, 
	metadata TEXT NOT NULL, 
	visualizations TEXT NOT NULL, 
	python_version VARCHAR(32), 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_artifacts PRIMARY KEY (id), 
	CONSTRAINT uq_artifacts_name_version UNIQUE (name, version), 
	CONSTRAINT fk_artifacts_producer_step_run_id_step_runs FOREIGN KEY(producer_step_run_id) REFERENCES step_runs (id), 
	CONSTRAINT fk_artifacts_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id)
);

CREATE INDEX ix_artifacts_content_hash ON artifacts (content_hash);

CREATE INDEX ix_artifacts_run_id ON artifacts (run_id);

CREATE INDEX ix_artifacts_producer_step_run_id ON artifacts (producer_step_run_id);

CREATE TABLE lineage (
	step_run_id VARCHAR(32) NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	artifact_id VARCHAR(32) NOT NULL, 
	CONSTRAINT pk_lineage PRIMARY KEY (step_run_id, direction, name), 
	CONSTRAINT fk_lineage_step_run_id_step_runs FOREIGN KEY(step_run_id) REFERENCES step_runs (id), 
	CONSTRAINT fk_lineage_artifact_id_artifacts FOREIGN KEY(artifact_id) REFERENCES artifacts (id)
);

CREATE INDEX ix_lineage_artifact_id ON lineage (artifact_id);

CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	run_id VARCHAR(32) NOT NULL, 
	step_run_id VARCHAR(32), 
	"key" VARCHAR(255) NOT NULL, 
	value DOUBLE NOT NULL, 
	step INTEGER, 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_metrics PRIMARY KEY (id), 
	CONSTRAINT fk_metrics_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id), 
	CONSTRAINT fk_metrics_step_run_id_step_runs FOREIGN KEY(step_run_id) REFERENCES step_runs (id)
);

CREATE INDEX ix_metrics_run_id_key ON metrics (run_id, "key");

CREATE INDEX ix_metrics_step_run_id ON metrics (step_run_id);

CREATE TABLE metadata_entries (
	entity VARCHAR(16) NOT NULL, 
	entity_id VARCHAR(32) NOT NULL, 
	"key" VARCHAR(255) NOT NULL, 
	value TEXT, 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_metadata_entries PRIMARY KEY (entity, entity_id, "key")
);

CREATE TABLE components (
	name VARCHAR(255) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	flavor VARCHAR(255) NOT NULL, 
	config TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	CONSTRAINT pk_components PRIMARY KEY (name)
);

CREATE INDEX ix_components_type ON components (type);

CREATE TABLE stacks (
	name VARCHAR(255) NOT NULL, 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_stacks PRIMARY KEY (name)
);

CREATE TABLE stack_members (
	stack VARCHAR(255) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	component VARCHAR(255) NOT NULL, 
	CONSTRAINT pk_stack_members PRIMARY KEY (stack, type), 
	CONSTRAINT fk_stack_members_stack_stacks FOREIGN KEY(stack) REFERENCES stacks (name)
);

CREATE INDEX ix_stack_members_component ON stack_members (component);

CREATE TABLE secrets (
	name VARCHAR(255) NOT NULL, 
	value TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	CONSTRAINT pk_secrets PRIMARY KEY (name)
);

CREATE TABLE users (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	created DATETIME NOT NULL, 
	disabled DATETIME, 
	CONSTRAINT pk_users PRIMARY KEY (id), 
	CONSTRAINT uq_users_name UNIQUE (name)
);

CREATE TABLE api_keys (
	id VARCHAR(32) NOT NULL, 
	user_id VARCHAR(32) NOT NULL, 
	label VARCHAR(255) NOT NULL, 
	hash VARCHAR(128) NOT NULL, 
	created DATETIME NOT NULL, 
	expires DATETIME, 
	revoked DATETIME, 
	last_used DATETIME, 
	CONSTRAINT pk_api_keys PRIMARY KEY (id), 
	CONSTRAINT fk_api_keys_user_id_users FOREIGN KEY(user_id) REFERENCES users (id)
);

CREATE INDEX ix_api_keys_user_id ON api_keys (user_id);

CREATE TABLE models (
	name VARCHAR(255) NOT NULL, 
	description TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_models PRIMARY KEY (name)
);

CREATE TABLE model_versions (
	id VARCHAR(32) NOT NULL, 
	model VARCHAR(255) NOT NULL, 
	number INTEGER NOT NULL, 
	name VARCHAR(255), 
	run_id VARCHAR(32), 
	stage VARCHAR(16), 
	exclusive_stage VARCHAR(16), 
	description TEXT NOT NULL, 
	metadata TEXT NOT NULL, 
	metrics TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_model_versions PRIMARY KEY (id), 
	CONSTRAINT fk_model_versions_model_models FOREIGN KEY(model) REFERENCES models (name), 
	CONSTRAINT uq_model_versions_model_number UNIQUE (model, number), 
	CONSTRAINT uq_model_versions_model_name UNIQUE (model, name), 
	CONSTRAINT uq_model_versions_model_run_id UNIQUE (model, run_id), 
	CONSTRAINT uq_model_versions_model_exclusive_stage UNIQUE (model, exclusive_stage)
);

CREATE TABLE model_artifacts (
	version_id VARCHAR(32) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	artifact_id VARCHAR(32) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	CONSTRAINT pk_model_artifacts PRIMARY KEY (version_id, name), 
	CONSTRAINT fk_model_artifacts_version_id_model_versions FOREIGN KEY(version_id) REFERENCES model_versions (id)
);

CREATE INDEX ix_model_artifacts_artifact_id ON model_artifacts (artifact_id);

CREATE TABLE model_events (
	id INTEGER NOT NULL, 
	model VARCHAR(255) NOT NULL, 
	version INTEGER NOT NULL, 
	from_stage VARCHAR(16), 
	to_stage VARCHAR(16), 
	actor VARCHAR(255) NOT NULL, 
	reason TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	CONSTRAINT pk_model_events PRIMARY KEY (id), 
	CONSTRAINT fk_model_events_model_models FOREIGN KEY(model) REFERENCES models (name)
);

CREATE INDEX ix_model_events_model_id ON model_events (model, id);

CREATE INDEX ix_artifacts_created ON artifacts (created);
