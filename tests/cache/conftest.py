"""Fixtures for the cache tests: a throwaway user project (see ``cache_usermods``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_usermods import UserModules


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserModules]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = UserModules(tmp_path)
    yield modules
    modules.cleanup()
