"""``bevel gc``: remove artifact files that no record refers to any more."""

from __future__ import annotations

import re

import click

from bevel.artifacts.gc import GRACE_SECONDS
from bevel.cli import output
from bevel.cli.common import open_client, stack_option
from bevel.client import format as fmt
from bevel.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")


def parse_duration(text: str) -> float:
    """``"90"``, ``"90s"``, ``"10m"``, ``"1.5h"``, ``"2d"`` -> seconds."""
    found = _DURATION.fullmatch(text.strip().lower())
    if not found:
        raise ConfigError(
            f"--grace {text!r} is not a duration",
            hint="give seconds or a number with s, m, h or d: --grace 10m, --grace 0",
        )
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


@click.command("gc")
@click.option("--dry-run", "-n", is_flag=True, help="Only print what would be removed.")
@click.option(
    "--grace",
    default=f"{int(GRACE_SECONDS // 60)}m",
    show_default=True,
    metavar="DURATION",
    help="Keep files saved or used this recently (a run may be about to record them).",
)
@stack_option
def gc(dry_run: bool, grace: str, stack: str | None) -> None:
    """Remove artifact files that no record refers to any more.

    Removes content folders no artifact record names (left by deleted runs while others ran),
    their visualizations, the logs of deleted runs, and what saves killed mid-way left in
    .tmp/. Files saved or found in use within the grace period are kept: a run that is going
    on may be about to record them. Runs, records and files in use are never touched.

    \b
    Examples:
      bevel gc --dry-run
      bevel gc --grace 0      # no run is going on anywhere: remove everything unreferenced
      bevel gc --stack team
    """
    seconds = parse_duration(grace)
    with open_client(stack) as client:
        found = client.collect_garbage(grace=seconds, dry_run=dry_run)
        console = output.stdout()
        if found.removed and dry_run:
            tbl = output.table(console, "would remove", "size", "why")
            for item in found.removed:
                output.add_row(tbl, item.path, fmt.size(item.size), item.reason)
            output.emit(console, tbl)
        verb = "would free" if dry_run else "freed"
        line = f"{verb} {fmt.size(found.freed)} in {len(found.removed)} item(s)"
        if found.kept_recent:
            kept = sum(item.size for item in found.kept_recent)
            line += (
                f"; kept {len(found.kept_recent)} unreferenced item(s) ({fmt.size(kept)}) used"
                f" within the grace period ({grace})"
            )
        console.print(line)
