"""Small helpers that make generated messages read as English sentences.

Error texts are assembled from type names and component types ("an integer", "an
orchestrator", "a list"); getting the article wrong ("a int", "a artifact_store") is the kind of
small carelessness that makes users trust a message less. Importable from every layer: it
imports nothing (pathlib when a path is shown: an error's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel._lazy import lazy_module

if TYPE_CHECKING:
    import pathlib
else:
    pathlib = lazy_module("pathlib")

# Words starting with a vowel letter but a consonant sound ("a unique", "a user", "a one-off").
_CONSONANT_SOUND = ("uni", "use", "usa", "usu", "uti", "uu", "eu", "one", "once")
# Words starting with a consonant letter but a vowel sound ("an hour", "an SQL", "an MD5").
_VOWEL_SOUND = ("hour", "honest", "honor", "honour", "heir")
_VOWEL_SOUND_LETTERS = "aefhilmnorsx"  # letters read "eh-f", "em", ... in acronyms: "an S3 URL"


def article(noun: str) -> str:
    """``"a"`` or ``"an"`` for ``noun``: ``article("int") == "an"``, ``article("list") == "a"``."""
    word = noun.strip().lstrip("'\"`([{$")
    if not word:
        return "a"
    lower = word.lower()
    if lower.startswith(_CONSONANT_SOUND):
        return "a"
    if lower.startswith(_VOWEL_SOUND):
        return "an"
    head = word.split()[0].split(".")[0].split("_")[0]
    if len(head) > 1 and head.isupper() and head.isalpha():  # an acronym: "an SQL", "a UUID"
        return "an" if head[0].lower() in _VOWEL_SOUND_LETTERS and head != "UUID" else "a"
    return "an" if lower[0] in "aeiou" else "a"


def with_article(noun: str) -> str:
    """``"integer"`` -> ``"an integer"``, ``"list"`` -> ``"a list"``."""
    return f"{article(noun)} {noun}"


def did_you_mean(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """``"did you mean 'team'? "`` when one candidate is close to ``name``, else ``""``.

    Meant to start a hint: ``hint=did_you_mean(x, known) + "known stacks: ..."``.
    """
    import difflib  # stdlib, but 3 ms of imports that only the error path needs

    same_but_case = [c for c in candidates if c.lower() == name.lower()]  # 'c' for 'C'
    close = same_but_case or difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def shown_path(filename: str) -> str:
    """A file's path as the user would type it: relative to the working directory when it is
    inside it (``pipelines/train.py``), else as given."""
    try:
        path = pathlib.Path(filename).resolve()
        here = pathlib.Path.cwd()
        return str(path.relative_to(here)) if path.is_relative_to(here) else filename
    except (OSError, ValueError):
        return filename
