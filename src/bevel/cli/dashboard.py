"""``bevel dashboard``: the web dashboard of this project, on this machine.

It starts the bevel server over the project's own metadata store (``.bevel/metadata.db``, or a
SQL ``$BEVEL_STORE_URL``) and artifact store, on 127.0.0.1 only and without auth (nobody else
can reach it), prints the URL and opens it in the browser. Like every reader, it writes nothing:
a run whose process died is shown as such ("running, but its process is gone"), with the
command that records it as failed (``bevel runs reap``). A team's server already serves the
dashboard: open its URL instead.
"""

from __future__ import annotations

import importlib.util
import socket
import sys

import click

from bevel.errors import ConfigError

HOST = "127.0.0.1"
DEFAULT_PORT = 8237


def _port(wanted: int, fixed: bool) -> int:
    """``wanted`` if it is free; else (unless the user chose it) the next free one."""
    for port in [wanted] if fixed else range(wanted, wanted + 20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    if fixed:
        raise ConfigError(
            f"port {wanted} on {HOST} is in use",
            hint="stop what listens there, or pick another port: bevel dashboard --port 8300",
        )
    raise ConfigError(f"no free port in {wanted}-{wanted + 19}", hint="pass --port N")


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), help=f"Port (default: {DEFAULT_PORT}, "
              "or the next free one).")  # fmt: skip
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def dashboard(port: int | None, no_browser: bool, log_level: str) -> None:
    """Open this project's runs in the web dashboard (127.0.0.1 only).

    Runs, their graphs, steps, logs and artifacts, read from this project's stores. The
    server listens on 127.0.0.1 without auth until Ctrl-C. It only reads: a run whose process
    died is shown as such, and bevel runs reap records it as failed.

    \b
    Examples:
      bevel dashboard
      bevel dashboard --port 8300 --no-browser
    """
    missing = [m for m in ("fastapi", "uvicorn", "jinja2") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"the dashboard needs {', '.join(missing)}, not installed here",
            hint="pip install 'bevel[server]'",
        )
    from bevel.cli.server import serve
    from bevel.server.config import ServerConfig
    from bevel.settings import load_settings

    settings = load_settings()
    url = settings.database_url
    if url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"this project's runs are on the bevel server {url}: it serves the dashboard itself",
            hint=f"open {url.rstrip('/')}/ in a browser",
        )
    chosen = _port(port or DEFAULT_PORT, fixed=port is not None)
    config = ServerConfig(
        db_url=url, host=HOST, port=chosen, auth=False, reap_every=0, access_log=False,
        artifact_roots=(str(settings.artifacts_path),),
    )  # fmt: skip

    def ready(address: str) -> None:
        click.echo(f"bevel dashboard: {address}/  (this machine only; Ctrl-C to stop)")
        sys.stdout.flush()
        if not no_browser:
            import webbrowser

            webbrowser.open(f"{address}/runs")

    serve(config, log_level, on_ready=ready)
