"""No secret value is ever printed or recorded: a secret (or a credential typed as a literal)
that reaches an error, a driver's log line or a traceback is masked in the terminal, in the
metadata store and in the step logs. Each test greps everything bevel wrote for the value."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bevel.testing.terminal import run_in_pty, screen

pytestmark = pytest.mark.slow  # the real `bevel` in fresh processes, everything it wrote grepped

SECRET = "Sup3rSecretValue-9f8e7d"
LITERAL = "Lit3ralCredential-1a2b3c"

PIPE = """
import os

from bevel import pipeline, step

def alert(**_):  # a notification hook whose client quotes the credential it was given
    raise ConnectionError("webhook refused token " + os.environ["LEAKY_HOOK_TOKEN"])

@step(on_failure=alert)
def make() -> list[int]:
    print("make ran")
    return [1, 2, 3]

@pipeline
def p():
    make()
"""

# A third-party artifact store that behaves like a careless driver: it logs its token while
# writing and quotes it in the error it raises (as S3 error bodies quote access key ids).
LEAKY = textwrap.dedent(
    """
    from __future__ import annotations

    import logging
    import os
    from dataclasses import dataclass

    from bevel.artifacts.local import LocalArtifactStore
    from bevel.stack.config import option
    from bevel.stack.flavors import Flavor


    @dataclass(frozen=True)
    class LeakyConfig:
        path: str = option(help="folder", path=True)
        token: str = option(help="an API token", sensitive=True)


    class LeakyStore(LocalArtifactStore):
        def __init__(self, path: str, token: str) -> None:
            super().__init__(path)
            self.token = token

        def open(self, path, mode="rb"):
            if "w" in mode and path.startswith("data/"):
                logging.getLogger("leaky").warning("uploading %s with token %s", path, self.token)
                try:
                    raise ConnectionError(f"reset while sending token {self.token}")
                except ConnectionError:
                    logging.getLogger("leaky").exception("retrying once")
                print(f"leaky: wrote with token {self.token}")
                if not os.environ.get("LEAKY_WRITES"):
                    raise PermissionError(f"403 Forbidden: token {self.token} may not write {path}")
            return super().open(path, mode)


    LEAKY = Flavor(
        type="artifact_store",
        name="leaky",
        implementation="leaky_flavor:LeakyStore",
        config=LeakyConfig,
        description="logs and raises its token",
    )
    """
)


def _environment(tmp_path: Path) -> dict[str, str]:
    package = tmp_path / "plugins"
    package.mkdir()
    (package / "leaky_flavor.py").write_text(LEAKY)
    info = package / "leaky_flavor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: leaky-flavor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[bevel.flavors]\nartifact_store/leaky = leaky_flavor:LEAKY\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEVEL_")}
    env.update(
        BEVEL_HOME=str(tmp_path / ".bevel"),
        PYTHONPATH=str(package),
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


class Project:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.env = _environment(tmp_path)
        (tmp_path / "pipe.py").write_text(PIPE)
        self.outputs: list[str] = []

    def bevel(self, *args: str, code: int = 0) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "bevel", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out = proc.stdout + proc.stderr
        self.outputs.append(out)
        assert proc.returncode == code, out
        return out

    def assert_never_shown(self, *values: str) -> None:
        for value in values:
            for out in self.outputs:
                assert value not in out, out
            for path in self.root.rglob("*"):
                if path.is_file() and path.parent.name != "plugins":
                    assert value.encode() not in path.read_bytes(), path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_a_secret_a_driver_logs_and_raises_is_masked_everywhere(project: Project) -> None:
    project.bevel("secret", "create", "vault", f"--tok={SECRET}")
    project.bevel("component", "register", "artifact_store", "leaky-store", "--flavor", "leaky",
                  "--path", "./leaky", "--token", "{{vault.tok}}")  # fmt: skip
    project.bevel("stack", "register", "leaky", "-o", "local", "-a", "leaky-store")
    project.env["LEAKY_HOOK_TOKEN"] = SECRET
    out = project.bevel("run", "pipe.py", "--stack", "leaky", "--name", "leaky-run", code=1)
    assert "403 Forbidden: token *** may not write" in out
    assert "ConnectionError: webhook refused token ***" in out
    run_name = "leaky-run"
    shown = project.bevel("runs", "show", run_name, "--stack", "leaky")
    assert "***" in shown
    logs = project.bevel("logs", run_name, "make", "--stack", "leaky")
    assert "uploading" in logs and "with token ***" in logs
    project.assert_never_shown(SECRET)


def test_a_literal_credential_is_masked_and_never_stored(project: Project) -> None:
    # the user's own logging handler (made before the run, on the real stderr) masks it too
    (project.root / "pipe.py").write_text("import logging\nlogging.basicConfig()\n" + PIPE)
    out = project.bevel("component", "register", "artifact_store", "leaky-store", "--flavor",
                        "leaky", "--path", "./leaky", "--token", LITERAL)  # fmt: skip
    assert "token: stored encrypted" in out
    project.bevel("stack", "register", "leaky", "-o", "local", "-a", "leaky-store")
    out = project.bevel("run", "pipe.py", "--stack", "leaky", code=1)
    assert "token *** may not write" in out
    assert (
        "WARNING:leaky:uploading" in out and "ConnectionError: reset while sending token ***" in out
    )
    project.bevel("component", "describe", "leaky-store")
    project.bevel("stack", "export", "leaky")
    project.assert_never_shown(LITERAL)


def test_a_secret_in_the_endpoint_url_is_not_printed_when_unreachable(project: Project) -> None:
    project.bevel("secret", "create", "s3", f"--secret={SECRET}", "--key=AKIAEXAMPLE")
    project.bevel("component", "register", "artifact_store", "s3-store", "--flavor", "s3",
                  "--path", "s3://bucket", "--endpoint-url", "http://127.0.0.1:1/{{s3.secret}}",
                  "--key", "{{s3.key}}", "--secret", "{{s3.secret}}",
                  "--connect-timeout", "1", "--max-attempts", "1")  # fmt: skip
    project.bevel("stack", "register", "s3", "-o", "local", "-a", "s3-store")
    out = project.bevel("run", "pipe.py", "--stack", "s3", code=1)
    assert "artifact store 's3-store' (s3://bucket at http://127.0.0.1:1/***)" in out
    assert "Traceback" not in out
    # the Python API: the traceback of the error (its causes included) does not show it either
    script = textwrap.dedent(
        """
        import traceback
        from bevel.api import load_pipeline, run_pipeline
        try:
            run_pipeline(load_pipeline("pipe.py:p"), stack="s3")
        except Exception as err:
            print("".join(traceback.format_exception(err)))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=project.root, env=project.env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    project.outputs.append(proc.stdout + proc.stderr)
    assert "bevel.errors." in proc.stdout and "http://127.0.0.1:1/***" in proc.stdout, proc.stdout
    project.assert_never_shown(SECRET)


@pytest.mark.parametrize(
    ("args", "shown", "hint"),
    [
        (("password=VALUE-xyz-123",), "unexpected argument 'password=***'", "--password=..."),
        (("VALUE-xyz-123",), "unexpected argument 1 (not shown", "--key=value"),
        (("--user", "me", "VALUE-xyz-123"), "unexpected argument 3 (not shown", "--key=value"),
    ],
)
def test_secret_values_in_bad_arguments_are_not_echoed(
    project: Project, args: tuple[str, ...], shown: str, hint: str
) -> None:
    out = project.bevel("secret", "create", "db2", *args, code=2)
    assert shown in out and hint in out
    assert "VALUE-xyz-123" not in out


def test_a_flag_without_a_value_is_not_stored_as_a_secret(project: Project) -> None:
    out = project.bevel("secret", "create", "db", "--password", code=2)
    assert "--password has no value" in out


def test_a_secret_is_masked_on_a_live_terminal_too(project: Project) -> None:
    """On a terminal the live display prints log records and prints itself (a handler of its
    own, rich's proxies): the driver's warning and the print still show no secret."""
    project.bevel("secret", "create", "vault", f"--tok={SECRET}")
    project.bevel("component", "register", "artifact_store", "leaky-store", "--flavor", "leaky",
                  "--path", "./leaky", "--token", "{{vault.tok}}")  # fmt: skip
    project.bevel("stack", "register", "leaky", "-o", "local", "-a", "leaky-store")
    env = {**project.env, "TERM": "xterm-256color", "LEAKY_WRITES": "1"}
    env.pop("NO_COLOR", None)
    bevel = str(Path(sys.executable).with_name("bevel"))
    data = run_in_pty([bevel, "run", "pipe.py", "--stack", "leaky"], project.root, env)
    assert b"\x1b[?25l" in data  # the live display really ran (it hides the cursor)
    text = "\n".join(screen(data))
    assert "uploading" in text and "with token ***" in text, text
    assert "leaky: wrote with token ***" in text, text
    assert SECRET.encode() not in data, text
    project.assert_never_shown(SECRET)
