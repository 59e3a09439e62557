"""The vendored JavaScript and CSS: every file is the one its manifest names (sha256), with its
licence beside it, and nothing else is shipped unlisted. A Python install never runs npm: the
files are committed, copied from the npm tarball of the exact version (`npm pack`)."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

VENDOR = Path(str(resources.files("bevel.server.dashboard") / "static" / "vendor"))
MANIFEST = json.loads((VENDOR / "MANIFEST.json").read_text())
LICENCE_WORDS = {"MIT": "Permission is hereby granted", "0BSD": "Zero-Clause BSD"}


def test_every_vendored_file_matches_its_manifest_entry() -> None:
    assert MANIFEST["files"], "the manifest lists no file"
    for entry in MANIFEST["files"]:
        data = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), entry
        assert entry["integrity"].startswith("sha512-"), entry
        licence = (VENDOR / entry["licence_file"]).read_text()
        assert LICENCE_WORDS[entry["licence"]] in licence, entry


def test_nothing_is_vendored_without_a_manifest_entry() -> None:
    listed = {e["file"] for e in MANIFEST["files"]} | {e["licence_file"] for e in MANIFEST["files"]}
    shipped = {p.name for p in VENDOR.iterdir()} - {"MANIFEST.json"}
    extra = {name for name in shipped - listed if not name.endswith((".LEGAL.txt",))}
    assert extra == set(), f"vendored files missing from MANIFEST.json: {extra}"


def test_the_package_data_ships_templates_and_static_files() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["bevel"]
    for needed in ("server/dashboard/templates/*.html", "server/dashboard/static/*.*",
                   "server/dashboard/static/js/*.js", "server/dashboard/static/vendor/*"):  # fmt: skip
        assert needed in patterns, needed
