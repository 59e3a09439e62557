"""``bevel models``: list models and versions, show one, promote, read the audit log, mirror
to the stack's model registry (``sync``), serve and deploy."""

from __future__ import annotations

import importlib
import json

import click
from rich.console import Console

from bevel.cli import output
from bevel.cli.common import LIMIT, open_client, stack_option
from bevel.client import format as fmt
from bevel.metadata.records import ModelStage, ModelStageEvent
from bevel.models.control import Models
from bevel.models.views import ModelVersion

_STAGES = [s.value for s in ModelStage]


@click.group()
def models() -> None:
    """Models and versions: promote, serve, deploy, audit log.

    VERSION is a version number, a version name, `latest`, `staging` or `production`.

    \b
    Examples:
      bevel models list
      bevel models versions churn --stage archived
      bevel models show churn --version production
      bevel models promote churn 3 --stage production --reason "beats v2 on AUC"
      bevel models sync churn
    """


@models.command("list")
@stack_option
def list_models(stack: str | None) -> None:
    """List the models, with their latest version and who holds each stage.

    \b
    Example:
      bevel models list --stack team
    """
    with open_client(stack) as client:
        found = client.models.all()
        console = output.stdout()
        if not found:
            console.print(
                "no models yet: a pipeline with @pipeline(model=Model(NAME)) and a @trainer "
                "step registers one when it runs"
            )
            return
        tbl = output.table(console, "MODEL", "VERSIONS", "LATEST", "STAGING", "PRODUCTION")
        for m in found:
            output.add_row(
                tbl, m.name, m.versions, m.latest or "-",
                m.stages.get("staging", "-"), m.stages.get("production", "-"),
            )  # fmt: skip
        output.emit(console, tbl)


@models.command("versions")
@click.argument("name")
@click.option("--stage", "-s", type=click.Choice(_STAGES), help="Only versions in this stage.")
@click.option("--limit", "-n", type=LIMIT, default=20, show_default=True)
@stack_option
def list_versions(name: str, stage: str | None, limit: int, stack: str | None) -> None:
    """List the versions of model NAME, newest first, with their metrics.

    \b
    Example:
      bevel models versions churn --stage archived --limit 5
    """
    with open_client(stack) as client:
        found = client.models.versions(name, stage=stage, limit=limit)
        console = output.stdout()
        if not found:
            console.print(f"model {name!r} has no versions" + (f" in {stage}" if stage else ""))
            return
        tbl = output.table(console, "VERSION", "NAME", "STAGE", "CREATED", "RUN", "METRICS")
        for v in found:
            output.add_row(
                tbl, v.number, v.name or "-", v.stage.value if v.stage else "-",
                fmt.timestamp(v.created), fmt.short_id(v.run_id) if v.run_id else "-",
                _metrics(v),
            )  # fmt: skip
        output.emit(console, tbl)


@models.command("show")
@click.argument("name")
@click.option("--version", "-v", "ref", default="latest", show_default=True, metavar="VERSION")
@click.option("--history", "-H", "history", type=int, default=10, show_default=True,
              help="How many entries of the audit log to show (0: all).")  # fmt: skip
@stack_option
def show(name: str, ref: str, history: int, stack: str | None) -> None:
    """Show one version of model NAME: stage, metrics, metadata, linked artifacts, the run
    that built it, and the model's audit log (who moved which version, when and why).

    \b
    Example:
      bevel models show churn --version production --history 0
    """
    with open_client(stack) as client:
        version = client.models.version(name, ref)
        events = client.models.events(name, limit=history)
        run_name = None
        if version.run_id:
            try:
                run_name = client.store.get_run(version.run_id).name
            except Exception:  # the run was deleted: the version and its artifacts stay
                run_name = f"{version.run_id} (deleted)"
        console = output.stdout()
        output.fields(
            console,
            [
                ("model", name),
                ("version", str(version.number) + (f" ({version.name})" if version.name else "")),
                ("stage", version.stage.value if version.stage else "-"),
                ("created", fmt.timestamp(version.created)),
                ("run", run_name or "-"),
                ("metrics", _metrics(version)),
                ("description", version.record.description or "-"),
            ],
        )
        if version.metadata:
            output.heading(console, "metadata")
            output.fields(
                console, [(k, json.dumps(v, default=str)) for k, v in version.metadata.items()]
            )
        output.heading(console, "artifacts")
        if version.artifacts:
            tbl = output.table(console, "NAME", "ROLE", "ARTIFACT")
            for link in version.artifacts.values():
                output.add_row(tbl, link.name, link.role, fmt.short_id(link.artifact_id, 12))
            output.emit(console, tbl)
        else:
            console.print("none yet (a @trainer step links its model when it completes)")
        output.heading(console, "history")
        _history(console, events)
        _registry(console, client.models, name)


def _registry(console: Console, found: Models, name: str) -> None:
    """The stack's model registry, read back: its versions of NAME and their aliases."""
    versions = found.registry_versions(name)
    if versions is None:
        return
    output.heading(console, "registry")
    if not versions:
        console.print(f"the model registry has no versions of {name!r} (bevel models sync {name})")
        return
    tbl = output.table(console, "VERSION", "BEVEL", "ALIASES", "URI", "SOURCE")
    for v in versions:
        output.add_row(
            tbl, v["version"], v["bevel_version"] or "-", ", ".join(v["aliases"]) or "-",
            v["uri"], v["source"],
        )  # fmt: skip
    output.emit(console, tbl)


@models.command("sync")
@click.argument("name")
@stack_option
def sync(name: str, stack: str | None) -> None:
    """Mirror every version of model NAME and its stages to the stack's model registry.

    bevel's store is the source of truth; run this after the registry was unreachable (a
    promotion or a training run said so) or once it was added to the stack.

    \b
    Example:
      bevel models sync churn
    """
    with open_client(stack) as client:
        report = client.models.sync(name)
        console = output.stdout()
        done = ", ".join(map(str, report.registered)) or "none"
        console.print(f"model {name!r}: versions {done} are in the model registry")
        if report.skipped:
            skipped = ", ".join(map(str, report.skipped))
            console.print(f"  not registered (no trained model linked yet): {skipped}")
        stages = ", ".join(f"{k} -> {v}" for k, v in sorted(report.stages.items())) or "none"
        console.print(f"  aliases: {stages}")


@models.command("promote")
@click.argument("name")
@click.argument("version")
@click.option("--stage", "-s", type=click.Choice(_STAGES), default="production",
              show_default=True)  # fmt: skip
@click.option("--reason", "-r", default="", help="Why (kept in the audit log).")
@stack_option
def promote(name: str, version: str, stage: str, reason: str, stack: str | None) -> None:
    """Move VERSION of model NAME to a stage; the version holding it before is archived.

    \b
    Example:
      bevel models promote churn 3 --stage production --reason "beats v2 on AUC"
    """
    with open_client(stack) as client:
        events = client.models.promote(name, version, stage=stage, reason=reason)
        console = output.stdout()
        if not events:
            number = client.models.version(name, version).number
            console.print(f"model {name!r} version {number} is in {stage} already")
            return
        for event in events:
            console.print(_move(event))


def _history(console: Console, events: list[ModelStageEvent]) -> None:
    if not events:
        console.print("no stage changes yet")
        return
    tbl = output.table(console, "WHEN", "VERSION", "MOVE", "WHO", "WHY")
    for e in events:
        move = f"{e.from_stage.value if e.from_stage else '-'} -> "
        move += e.to_stage.value if e.to_stage else "-"
        output.add_row(tbl, fmt.timestamp(e.created), e.version, move, e.actor, e.reason or "-")
    output.emit(console, tbl)


def _move(event: ModelStageEvent) -> str:
    to = event.to_stage.value if event.to_stage else "no stage"
    was = f" (was {event.from_stage.value})" if event.from_stage else ""
    return f"model {event.model!r} version {event.version} -> {to}{was}"


def _metrics(version: ModelVersion) -> str:
    return ", ".join(f"{k}={fmt.metric(v)}" for k, v in sorted(version.metrics.items())) or "-"


@models.command("serve")
@click.argument("name")
@click.option("--stage", "-s", type=click.Choice(["staging", "production"]), default=None,
              help="Serve the version in this stage (default: production).")  # fmt: skip
@click.option("--version", "-v", "ref", default=None, metavar="VERSION",
              help="Serve this version (number or name) instead.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=8000, show_default=True)
@stack_option
def serve(
    name: str, stage: str | None, ref: str | None, host: str, port: int, stack: str | None
) -> None:
    """Serve a version of model NAME over HTTP: POST /predict, GET /health, GET /metadata.

    \b
    Example:
      bevel models serve churn --stage production --port 8000
      curl -s localhost:8000/predict -d '{"instances": [[0.1, 2.3, 4.5]]}'
    """
    if stage and ref:
        raise click.UsageError("give --stage or --version, not both")
    # optional: bevel[serve]; imported here so that the other commands do not pay for it
    serving = importlib.import_module("bevel.integrations.serving")
    with open_client(stack) as client:
        version = client.models.version(name, ref or stage or "production")
        output.stderr().print(
            f"serving {version} on http://{host}:{port} (POST /predict, GET /health, "
            "GET /metadata); Ctrl-C stops"
        )
        serving.serve(version, host=host, port=port)


@models.command("deploy")
@click.argument("name")
@click.option("--version", "-v", "ref", default="production", show_default=True,
              metavar="VERSION")  # fmt: skip
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=None,
              help="Port (default: the deployer's, else a free one).")  # fmt: skip
@stack_option
def deploy(name: str, ref: str, port: int | None, stack: str | None) -> None:
    """Deploy a version of model NAME with the stack's model deployer (default: local).

    \b
    Example:
      bevel models deploy churn --version production --port 8001
    """
    with open_client(stack) as client:
        url = client.models.deploy(name, ref, port=port)
        number = client.models.version(name, ref).number
        output.stdout().print(f"model {name!r} version {number} serves at {url}")


@models.command("deployments")
@stack_option
def deployments(stack: str | None) -> None:
    """List the deployments of the stack's model deployer and whether they answer.

    \b
    Example:
      bevel models deployments
    """
    with open_client(stack) as client:
        found = client.models.deployer().deployments(client.store)
        console = output.stdout()
        if not found:
            console.print("nothing deployed (bevel models deploy NAME)")
            return
        tbl = output.table(console, "MODEL", "VERSION", "STATE", "URL", "PID", "STARTED")
        for d in found:
            output.add_row(tbl, d.model, d.version, d.state, d.url, d.pid, d.started[:19])
        output.emit(console, tbl)


@models.command("logs")
@click.argument("name")
@click.option("--tail", "-n", type=LIMIT, default=100, show_default=True)
@stack_option
def logs(name: str, tail: int, stack: str | None) -> None:
    """Print the end of the log of model NAME's deployment.

    \b
    Example:
      bevel models logs churn --tail 20
    """
    with open_client(stack) as client:
        text = client.models.deployer().logs(name, store=client.store, tail=tail)
        click.echo(text)


@models.command("stop")
@click.argument("name")
@stack_option
def stop(name: str, stack: str | None) -> None:
    """Stop the deployment of model NAME.

    \b
    Example:
      bevel models stop churn
    """
    with open_client(stack) as client:
        done = client.models.deployer().stop(name, store=client.store)
        output.stdout().print(f"model {name!r} version {done.version} at {done.url}: stopped")
