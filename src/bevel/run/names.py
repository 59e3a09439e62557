"""Run names: a generated default, or a template that stays unique however often it runs.

``--name`` and the run config's ``run_name`` take a literal name or a template with
placeholders:

==============  ==============================================  ==================
``{date}``      the run's start date (UTC), ``YYYYMMDD``         ``20261201``
``{time}``      the start time (UTC), ``HHMMSS``                 ``133045``
``{pipeline}``  the pipeline's name                              ``training``
``{id}``        the first 6 characters of the run's id           ``1a2b3c``
``{n}``         a counter: 1, then 2, ... for the same name      ``3``
==============  ==============================================  ==================

A template is collision-safe: when the name it gives is taken (``nightly-{date}`` run twice on
the same day), ``-2``, ``-3``... is appended, unless the template already places ``{n}``
itself. A literal name (no placeholder) is the user's exact choice, so a second run of it is an
error saying how to fix it. Only exact names are compared: ``nightly-20261201-2`` is the
suffixed form of ``nightly-20261201``, and is found by the same counting.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from datetime import datetime

from bevel.errors import ConfigError

PLACEHOLDERS = ("date", "time", "pipeline", "id", "n")
_KNOWN = ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def default_run_name(pipeline: str, run_id: str, at: datetime) -> str:
    """``training-20261201-133045-1a2b3c``: readable, sortable and unique (the id part)."""
    return f"{pipeline}-{at:%Y%m%d-%H%M%S}-{run_id[:6]}"


def _fields(template: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:  # a lone "{" or "}"
        raise ConfigError(
            f"run name {template!r} is not a valid template: {err}",
            hint=f"placeholders are {_KNOWN}; write {{{{ and }}}} for literal braces",
        ) from None
    fields = [field for _, field, _, _ in parsed if field is not None]
    for field in fields:
        if field not in PLACEHOLDERS:
            raise ConfigError(
                f"unknown placeholder {{{field}}} in run name {template!r}",
                hint=f"use {_KNOWN} (e.g. nightly-{{date}} or nightly-{{date}}-{{n}})",
            )
    return fields


def is_template(name: str) -> bool:
    """Whether ``name`` has placeholders (so it is made unique rather than refused when taken)."""
    return bool(_fields(name)) or "{{" in name or "}}" in name


def render(
    template: str,
    *,
    pipeline: str,
    run_id: str,
    at: datetime,
    existing: Callable[[str], Iterable[str]],
) -> str:
    """The run name for ``template``; ``existing(prefix)`` lists the taken names that start with
    ``prefix`` (a store query), asked only when the template can collide."""
    fields = _fields(template)
    values = {"date": f"{at:%Y%m%d}", "time": f"{at:%H%M%S}", "pipeline": pipeline,
              "id": run_id[:6]}  # fmt: skip
    if not fields and "{{" not in template and "}}" not in template:
        return template  # a literal name: create_run refuses it when taken, with a hint
    if "n" in fields:
        return _counted(template, values, existing)
    name = template.format(**values, n="")
    taken = set(existing(name))
    if name not in taken:
        return name
    suffixed = re.compile(re.escape(name) + r"-(\d+)")
    numbers = [int(m[1]) for t in taken if (m := suffixed.fullmatch(t))]
    return f"{name}-{max(numbers, default=1) + 1}"


def _counted(
    template: str, values: dict[str, str], existing: Callable[[str], Iterable[str]]
) -> str:
    """``{n}`` is the smallest counter above every one already used for this name."""
    marker = "\x00"
    pattern = template.format(**values, n=marker)
    head, _, tail = pattern.partition(marker)
    shape = re.compile(
        re.escape(head) + r"(\d+)" + re.escape(tail).replace(re.escape(marker), r"\d+")
    )
    numbers = [int(m[1]) for name in existing(head) if (m := shape.fullmatch(name))]
    return pattern.replace(marker, str(max(numbers, default=0) + 1))
