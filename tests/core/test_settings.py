"""Where bevel's state is found (bevel.settings), on the text paths a run uses.

``load_settings`` resolves the home with ``os.path`` (a run imports no pathlib); these tests pin
it to what the ``pathlib`` formulation it replaced gives, in real folders, symlinks included,
and check that ``Settings`` still behaves as the frozen value it was.
"""

from __future__ import annotations

import copy
import os
import pickle
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from bevel.errors import ConfigError
from bevel.settings import HOME_DIRNAME, Settings, find_home, load_settings


def pathlib_home(start: Path | None, environ: dict[str, str]) -> Path:
    """The lookup as bevel wrote it with pathlib before (the reference)."""
    if environ.get("BEVEL_HOME"):
        return Path(environ["BEVEL_HOME"]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIRNAME
        if candidate.is_dir():
            return candidate
    return here / HOME_DIRNAME


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """project/.bevel, project/src/deep (no .bevel below project), and a symlink into it."""
    (tmp_path / "project" / HOME_DIRNAME).mkdir(parents=True)
    (tmp_path / "project" / "src" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "project" / "src")
    (tmp_path / "file").write_text("not a folder")
    return tmp_path


def test_the_home_is_found_as_pathlib_found_it(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEVEL_HOME", raising=False)
    starts = [
        tree / "project",
        tree / "project" / "src" / "deep",
        tree / "link" / "deep",  # through a symlink: resolved first
        tree / "elsewhere",  # none above: ./.bevel
        Path("project/src"),  # relative to the working directory
    ]
    monkeypatch.chdir(tree)
    for start in starts:
        expected = pathlib_home(start, {})
        assert find_home(start, environ={}) == expected, start
        assert load_settings(start, create=False).home == expected, start
    monkeypatch.chdir(tree / "link" / "deep")  # no start: the working directory
    assert find_home(environ={}) == pathlib_home(None, {}) == tree / "project" / HOME_DIRNAME
    assert load_settings(create=False).home_dir == str(tree / "project" / HOME_DIRNAME)


def test_bevel_home_is_expanded_and_resolved(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tree))
    for given in ("~/link/../x/.bevel", str(tree / "link" / "deep" / ".bevel"), "rel/.bevel"):
        env = {"BEVEL_HOME": given}
        assert find_home(environ=env) == pathlib_home(None, env), given
    monkeypatch.setenv("BEVEL_HOME", "~/link/made")
    settings = load_settings()  # creates it, through the symlink
    assert settings.home == (tree / "project" / "src" / "made").resolve()
    assert settings.home.is_dir()


def test_a_home_that_is_a_file_or_cannot_be_made_is_named(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_HOME", str(tree / "file"))
    with pytest.raises(ConfigError, match=r"bevel's home .*file \(\$BEVEL_HOME\) is a file"):
        load_settings()
    monkeypatch.setenv("BEVEL_HOME", str(tree / "file" / "inside"))
    with pytest.raises(ConfigError, match=r"cannot create bevel's home folder .*inside"):
        load_settings()


def test_settings_paths_and_their_text_twins_agree(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / ".bevel", store_url=None, stack="team")
    assert settings.home == tmp_path / ".bevel"
    assert settings.home_dir == str(tmp_path / ".bevel")
    assert settings.database_path == Path(settings.database_file) == settings.home / "metadata.db"
    assert settings.database_url == f"sqlite:///{settings.home / 'metadata.db'}"
    assert settings.artifacts_path == Path(settings.artifacts_dir) == settings.home / "artifacts"
    assert settings.active_stack_path == Path(settings.active_stack_file)
    assert settings.active_stack_path == settings.home / "active-stack"
    assert settings.project_root == tmp_path
    assert settings.secrets_key_path == settings.home / "secrets.key"
    team = Settings(home=str(tmp_path / ".bevel"), store_url="postgresql://u@h/db")
    assert team.database_url == "postgresql://u@h/db"


def test_settings_is_a_frozen_value(tmp_path: Path) -> None:
    a = Settings(home=tmp_path / ".bevel", stack="team")
    b = Settings(tmp_path / ".bevel", None, "team")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Settings(home=tmp_path / ".bevel") and a != "not settings"
    with pytest.raises(FrozenInstanceError):
        a.stack = "other"
    for again in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
        assert again == a and again.home == a.home  # workers get the settings pickled
    assert str(tmp_path) in repr(a) and "team" in repr(a)
    assert os.fspath(a.home) == a.home_dir
