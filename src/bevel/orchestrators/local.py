"""The local orchestrator: steps run inline, one after the other, in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from bevel.orchestrators import inline
else:  # a stack built only to read runs (the Client) never makes an executor
    inline = lazy_module("bevel.orchestrators.inline")


class LocalOrchestrator:
    """Inline and sequential: the default, with zero setup."""

    name = "local"
    in_process = True
    remote = False

    def __init__(self, continue_on_failure: bool = True, **_config: Any) -> None:
        self.continue_on_failure = continue_on_failure

    def executor(self) -> Executor:
        return inline.InlineExecutor()
