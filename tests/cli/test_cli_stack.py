"""`bevel component | stack | flavor | secret`: the definitions commands, through click."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result

Invoke = Callable[..., Result]
KEY = "AKIAREALKEY123"
SECRET = "wJalrXUtnFEMI-K7MDENG-EXAMPLE"
PASSWORD = "pg-pass-42"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BEVEL_STACK", "BEVEL_SECRETS_KEY", "BEVEL_STORE_URL"):
        monkeypatch.delenv(name, raising=False)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def _team(invoke: Invoke) -> None:
    ok(invoke("secret", "create", "s3", f"--key={KEY}", "--secret", SECRET))
    ok(
        invoke(
            "component", "register", "artifact_store", "s3-store", "--flavor", "s3",
            "--path", "s3://ml-artifacts", "--endpoint-url", "http://127.0.0.1:9000",
            "--key", "{{s3.key}}", "--secret", "{{s3.secret}}", "--connect-timeout", "2",
        )
    )  # fmt: skip
    ok(
        invoke(
            "component", "register", "metadata_store", "team-db", "--flavor", "postgresql",
            "--url", f"postgresql+psycopg://bevel:{PASSWORD}@db:5432/bevel",
        )
    )  # fmt: skip
    ok(invoke("stack", "register", "team", "-a", "s3-store", "-m", "team-db", "-o", "local"))


def test_component_commands(invoke: Invoke) -> None:
    out = ok(invoke("component", "register", "artifact_store", "scratch", "--flavor", "local",
                    "--path", "./scratch"))  # fmt: skip
    assert out.strip() == "registered artifact_store scratch (flavor local)"
    listed = ok(invoke("component", "list", "artifact_store"))
    assert "scratch" in listed and "local-artifacts" in listed and "built-in" in listed
    assert "orchestrator" not in listed
    described = ok(invoke("component", "describe", "scratch"))
    assert "flavor       local" in described and "path  ./scratch" in described
    out = ok(invoke("component", "update", "scratch", "--path", "./elsewhere"))
    assert out.strip() == "updated artifact_store scratch: path"
    assert "path  ./elsewhere" in ok(invoke("component", "describe", "scratch"))
    ok(invoke("component", "delete", "scratch", "--yes"))
    gone = invoke("component", "describe", "scratch")
    assert gone.exit_code == 1 and "no stack component named 'scratch'" in gone.output


def test_component_validation_errors(invoke: Invoke) -> None:
    unknown_flavor = invoke("component", "register", "artifact_store", "x", "--flavor", "dropbox")
    assert unknown_flavor.exit_code == 2
    assert "unknown artifact_store flavor 'dropbox'" in unknown_flavor.output
    assert "local, s3" in unknown_flavor.output
    missing = invoke("component", "register", "artifact_store", "x", "--flavor", "s3")
    assert "missing required field 'path'" in missing.output and "--path VALUE" in missing.output
    unknown = invoke("component", "register", "artifact_store", "x", "--flavor", "s3",
                     "--path", "s3://b", "--endpoint", "http://h")  # fmt: skip
    assert "unknown field 'endpoint'" in unknown.output
    assert "did you mean --endpoint-url?" in unknown.output
    wrong = invoke("component", "register", "artifact_store", "x", "--flavor", "s3",
                   "--path", "s3://b", "--max-attempts", "many")  # fmt: skip
    assert "field 'max_attempts' must be an integer, got 'many' (str)" in wrong.output
    stray = invoke("component", "register", "artifact_store", "x", "--flavor", "s3", "oops")
    assert "unexpected argument 'oops'" in stray.output
    bad_type = invoke("component", "register", "storage", "x", "--flavor", "s3")
    assert bad_type.exit_code == 2 and "'storage' is not one of" in bad_type.output


def test_stack_commands(invoke: Invoke, bevel_home: Path) -> None:
    _team(invoke)
    listed = ok(invoke("stack", "list"))
    assert "*  default" in listed and "team     local         s3-store" in listed
    out = ok(invoke("stack", "set", "team"))
    assert out.strip() == "active stack is now team"
    assert (bevel_home / "active-stack").read_text().strip() == "team"
    assert "*  team" in ok(invoke("stack", "list"))
    described = ok(invoke("stack", "describe"))
    assert "active  yes (chosen by bevel stack set)" in described
    assert "artifact_store: s3-store (flavor s3)" in described
    refused = invoke("stack", "delete", "team", "--yes")
    assert refused.exit_code == 2 and "it is the active stack" in refused.output
    in_use = invoke("component", "delete", "s3-store", "--yes")
    assert in_use.exit_code == 2 and "stack(s) team use it" in in_use.output
    unknown = invoke("stack", "set", "nope")
    assert unknown.exit_code == 2
    assert (
        "no stack named 'nope'" in unknown.output
        and "known stacks: default, team" in unknown.output
    )
    assert invoke("stack", "delete", "default", "--yes").exit_code == 2
    ok(invoke("stack", "set", "default"))
    ok(invoke("stack", "delete", "team", "--yes"))
    ok(invoke("component", "delete", "s3-store", "--yes"))


def test_stack_register_errors(invoke: Invoke) -> None:
    no_store = invoke("stack", "register", "x", "-o", "local")
    assert no_store.exit_code == 2 and "needs an artifact store" in no_store.output
    wrong = invoke("stack", "register", "x", "-o", "local", "-a", "nope")
    assert "no artifact_store component named 'nope'" in wrong.output


def test_env_overrides_the_set_stack(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    _team(invoke)
    ok(invoke("stack", "set", "team"))
    monkeypatch.setenv("BEVEL_STACK", "default")
    assert "*  default" in ok(invoke("stack", "list"))
    out = invoke("stack", "set", "team")
    assert "BEVEL_STACK=default is set and takes precedence" in out.output


def test_secrets_never_shown(invoke: Invoke) -> None:
    _team(invoke)
    outputs = [
        ok(invoke("secret", "list")),
        ok(invoke("secret", "get", "s3")),
        ok(invoke("component", "describe", "s3-store")),
        ok(invoke("component", "describe", "team-db")),
        ok(invoke("component", "list")),
        ok(invoke("stack", "describe", "team")),
        ok(invoke("stack", "export", "team")),
    ]
    for text in outputs:
        for value in (KEY, SECRET, PASSWORD):
            assert value not in text
    got = outputs[1]
    assert "key     ***    {{s3.key}}" in got and "secret  ***    {{s3.secret}}" in got
    assert "postgresql+psycopg://bevel:***@db:5432/bevel" in outputs[3]
    assert "{{s3.secret}}" in outputs[2]


def test_literal_credentials_are_masked(invoke: Invoke) -> None:
    ok(invoke("component", "register", "artifact_store", "raw", "--flavor", "s3",
              "--path", "s3://b", "--key", KEY, "--secret", SECRET))  # fmt: skip
    described = ok(invoke("component", "describe", "raw"))
    assert KEY not in described and SECRET not in described
    assert "key     ***\nsecret  ***" in described
    ok(invoke("stack", "register", "raw", "-o", "local", "-a", "raw"))
    exported = ok(invoke("stack", "export", "raw"))
    assert KEY not in exported and SECRET not in exported
    assert "key: '***'" in exported


def test_export_import_round_trip(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _team(invoke)
    exported = ok(invoke("stack", "export", "team"))
    document = yaml.safe_load(exported)
    assert document["stack"] == "team"
    assert document["components"]["orchestrator"] == "local"
    assert document["components"]["artifact_store"]["config"]["key"] == "{{s3.key}}"
    path = tmp_path / "stack.yaml"
    path.write_text(exported)
    # the same project: everything is unchanged
    again = ok(invoke("stack", "import", str(path)))
    assert again.splitlines() == [
        "component s3-store unchanged",
        "component team-db unchanged",
        "stack team unchanged",
    ]
    # a fresh project: the masked password cannot travel
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / "other" / ".bevel"))
    masked = invoke("stack", "import", str(path))
    assert masked.exit_code == 2
    assert "component 'team-db': field 'url' was masked on export" in masked.output
    document["components"]["metadata_store"]["config"]["url"] = (
        "postgresql+psycopg://bevel:{{db.password}}@db:5432/bevel"
    )
    path.write_text(yaml.safe_dump(document))
    out = ok(invoke("stack", "import", str(path), "--set"))
    assert out.splitlines() == [
        "created component s3-store",
        "created component team-db",
        "created stack team",
        "active stack is now team",
    ]
    assert yaml.safe_load(ok(invoke("stack", "export", "team"))) == document


def test_import_refuses_different_definitions_unless_forced(invoke: Invoke, tmp_path: Path) -> None:
    _team(invoke)
    document = yaml.safe_load(ok(invoke("stack", "export", "team")))
    document["components"]["artifact_store"]["config"]["path"] = "s3://other-bucket"
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(document))
    refused = invoke("stack", "import", str(path))
    assert refused.exit_code == 2
    assert "component 's3-store' already exists with a different definition" in refused.output
    assert "--force" in refused.output
    out = ok(invoke("stack", "import", str(path), "--force"))
    assert "replaced component s3-store" in out
    assert "path             s3://other-bucket" in ok(invoke("component", "describe", "s3-store"))


def test_import_bad_file(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("components: {}\n")
    out = invoke("stack", "import", str(path))
    assert out.exit_code == 2 and "needs a 'stack' name" in out.output


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ({"orchestrator": "nosuch"}, "stack 'half': no orchestrator component named 'nosuch'"),
        ({}, "stack 'half' needs an orchestrator"),
    ],
)
def test_import_of_a_stack_that_cannot_be_made_writes_nothing(
    invoke: Invoke, tmp_path: Path, members: dict[str, str], error: str
) -> None:
    document = {
        "stack": "half",
        "components": {
            **members,
            "artifact_store": {"name": "half-store", "flavor": "local", "config": {"path": "h"}},
        },
    }
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(document))
    refused = invoke("stack", "import", str(path))
    assert refused.exit_code == 2
    assert f"error: {error}" in refused.output
    assert "half-store" not in ok(invoke("component", "list"))
    assert "half" not in ok(invoke("stack", "list"))


def test_secret_commands(invoke: Invoke) -> None:
    ok(invoke("init"))  # read commands need a project (tests/cli/test_cli_readonly.py)
    assert "no secrets yet" in ok(invoke("secret", "list"))
    out = ok(invoke("secret", "create", "db", "--password", PASSWORD))
    assert out.strip() == "created secret db; refer to it as {{db.password}}"
    taken = invoke("secret", "create", "db", "--password", "x")
    assert taken.exit_code == 2 and "--force" in taken.output
    replaced = ok(
        invoke("secret", "create", "db", "--force", "--password", "y-secret", "--user", "u-secret")
    )
    assert replaced.startswith("replaced secret db")
    fresh = ok(invoke("secret", "create", "other", "--force", "--token", "t-secret"))
    assert fresh.startswith("created secret other")  # --force on a new secret still creates
    short = ok(invoke("secret", "create", "short", "--password", "admin"))  # stored, with a warning
    assert short.splitlines()[0] == (
        "warning: {{short.password}} is 5 characters long: it is masked in output only where it"
        " stands as a word of its own (values of 8 or more characters are masked everywhere)"
    )
    assert "{{db.user}}" in ok(invoke("secret", "get", "db"))
    ok(invoke("component", "register", "metadata_store", "team-db", "--flavor", "postgresql",
              "--url", "postgresql+psycopg://{{db.user}}:{{db.password}}@h/db"))  # fmt: skip
    used = invoke("secret", "delete", "db", "--yes")
    assert used.exit_code == 2 and "used by component(s) team-db" in used.output
    assert "--force" in used.output
    ok(invoke("secret", "delete", "db", "--yes", "--force"))
    missing = invoke("secret", "get", "db")
    assert missing.exit_code == 1 and "no secret named 'db'" in missing.output
    gone = invoke("secret", "delete", "db")  # no confirmation prompt for a missing secret
    assert gone.exit_code == 1 and "no secret named 'db'" in gone.output
    assert "Delete secret" not in gone.output


def test_flavor_commands(invoke: Invoke) -> None:
    listed = ok(invoke("flavor", "list", "artifact_store"))
    assert "s3" in listed and "path*, endpoint_url" in listed
    assert "metadata_store" not in listed
    described = ok(invoke("flavor", "describe", "artifact_store", "s3"))
    assert "--endpoint-url" in described and "[sensitive: masked]" in described
    assert "pip install 'bevel[s3]'" in described or "installed    yes" in described
    unknown = invoke("flavor", "describe", "artifact_store", "nope")
    assert unknown.exit_code == 2 and "unknown artifact_store flavor 'nope'" in unknown.output
