"""How DataFrames are written: for speed unless configured, always loading back the same."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers import registry
from bevel.artifacts.materializers.pandas_parquet import FILENAME, DataFrameMaterializer
from bevel.artifacts.materializers.refs import type_ref
from bevel.artifacts.publish import SavedArtifact, load_artifact, save_artifact
from bevel.errors import ArtifactError


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(str(tmp_path / "store"))


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.random(1000),
            "n": np.arange(1000),
            "flag": np.arange(1000) % 2 == 0,
            "city": pd.Series(["paris", "lyon", "nice", "lille"] * 250, dtype="string"),
            "kind": pd.Categorical(["a", "b"] * 500),
        }
    )


def _load(store: LocalArtifactStore, saved: SavedArtifact, ref: str) -> pd.DataFrame:
    loaded: pd.DataFrame = load_artifact(
        store,
        uri=saved.uri,
        materializer=ref,
        type_ref=type_ref(pd.DataFrame),
        content_hash=saved.content_hash,
        name="p.s.out",
    )
    return loaded


def _columns(store: LocalArtifactStore, uri: str) -> dict[str, tuple[str, bool]]:
    """Per column of the stored file: its codec, and whether it is dictionary-encoded."""
    folder = store.local_path(uri.removeprefix(store.uri("")).lstrip("/"))
    assert folder is not None
    meta = pq.ParquetFile(os.path.join(folder, FILENAME)).metadata.row_group(0)
    found = {}
    for i in range(meta.num_columns):
        column = meta.column(i)
        found[column.path_in_schema] = (
            column.compression,
            any("DICTIONARY" in e for e in column.encodings),
        )
    return found


def test_by_default_nothing_is_compressed_and_only_text_is_dictionary_encoded(
    store: LocalArtifactStore,
) -> None:
    frame = _frame()
    saved = save_artifact(store, frame, registry.DATAFRAME_MATERIALIZER)
    columns = _columns(store, saved.uri)
    assert {name: codec for name, (codec, _) in columns.items()} == dict.fromkeys(
        columns, "UNCOMPRESSED"
    )
    assert {name for name, (_, dictionary) in columns.items() if dictionary} == {"city", "kind"}
    loaded = _load(store, saved, registry.DATAFRAME_MATERIALIZER)
    pd.testing.assert_frame_equal(loaded, frame)


class Compressed(DataFrameMaterializer):
    compression: ClassVar[str | None] = "zstd"
    compression_level: ClassVar[int | None] = 3
    dictionary: ClassVar[str] = "all"


def test_a_subclass_chooses_compression_and_dictionary_encoding(
    store: LocalArtifactStore,
) -> None:
    frame = pd.DataFrame({"x": np.zeros(100_000), "n": np.arange(100_000) % 7})
    ref = f"{__name__}:Compressed"
    small = save_artifact(store, frame, ref)
    fast = save_artifact(store, frame, registry.DATAFRAME_MATERIALIZER)
    columns = _columns(store, small.uri)
    assert {codec for codec, _ in columns.values()} == {"ZSTD"}
    assert all(dictionary for _, dictionary in columns.values())
    assert small.size < fast.size / 10  # repetitive numbers: what compression is for
    loaded = _load(store, small, ref)
    pd.testing.assert_frame_equal(loaded, frame)


def test_a_misspelled_dictionary_setting_is_a_clear_error(store: LocalArtifactStore) -> None:
    class Odd(DataFrameMaterializer):
        dictionary: ClassVar[str] = "some"

    with pytest.raises(ArtifactError) as err:
        Odd().save(_frame(), str(store.local_path("")))
    assert "Odd.dictionary is 'some'" in err.value.message
    assert err.value.hint and '"text"' in err.value.hint
