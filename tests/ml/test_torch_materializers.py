"""torch modules, tensors and datasets round trip in safetensors + JSON; loading runs no pickle."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from bevel.errors import ArtifactError
from bevel.integrations.torch import (
    MODULE,
    WEIGHTS,
    DataLoaderMaterializer,
    TensorDatasetMaterializer,
    TensorMaterializer,
    TorchModuleMaterializer,
    saves_init,
)

MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / "bevel-torch-pwned"


class MLP(nn.Module):
    """Keeps its constructor arguments as attributes: rebuilt without any help."""

    def __init__(self, n_in: int = 4, hidden: int = 8, n_out: int = 3) -> None:
        super().__init__()
        self.n_in, self.hidden, self.n_out = n_in, hidden, n_out
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
        self.register_buffer("scale", torch.ones(n_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * self.scale)


@saves_init
class Tied(nn.Module):
    """Arguments recorded by @saves_init; tied weights share one tensor."""

    def __init__(self, vocab: int, dim: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.out = nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(x))


class Opaque(nn.Module):
    def __init__(self, width: int) -> None:  # width is not kept: bevel cannot rebuild it
        super().__init__()
        self.layer = nn.Linear(width, 1)


class Pwn:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


@pytest.fixture(autouse=True)
def no_marker() -> Any:
    MARKER.unlink(missing_ok=True)
    yield
    MARKER.unlink(missing_ok=True)


def test_module_round_trip_predicts_the_same(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = MLP(hidden=16).eval()
    m = TorchModuleMaterializer()
    m.save(model, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODULE, WEIGHTS]
    spec = json.loads((tmp_path / MODULE).read_text())
    assert spec["init_args"] == {"n_in": 4, "hidden": 16, "n_out": 3}
    loaded = m.load(str(tmp_path), MLP)
    x = torch.randn(5, 4)
    assert torch.equal(loaded(x), model(x)) and not loaded.training
    assert m.metadata(model)["device"] == "cpu"


def test_saves_init_and_tied_weights(tmp_path: Path) -> None:
    model = Tied(10, dim=3)
    m = TorchModuleMaterializer()
    m.save(model, str(tmp_path))
    loaded = m.load(str(tmp_path), Tied)
    x = torch.tensor([1, 2, 3])
    assert torch.equal(loaded(x), model(x))


def test_a_module_that_cannot_be_rebuilt_fails_at_save_time(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot tell how to rebuild Opaque") as err:
        TorchModuleMaterializer().save(Opaque(3), str(tmp_path))
    assert "saves_init" in (err.value.hint or "") and 'pickle=["model"]' in (err.value.hint or "")


def test_args_that_do_not_rebuild_the_module_fail_at_save_time(tmp_path: Path) -> None:
    model = MLP()
    model.hidden = 99  # the attribute no longer matches the layers
    with pytest.raises(ArtifactError, match="does not rebuild the module"):
        TorchModuleMaterializer().save(model, str(tmp_path))


def test_a_tampered_module_file_runs_no_code(tmp_path: Path) -> None:
    m = TorchModuleMaterializer()
    m.save(MLP(), str(tmp_path))
    # replace the weights with a pickle (what torch.save writes) carrying a payload
    torch.save({"net.0.weight": Pwn()}, tmp_path / WEIGHTS)
    with pytest.raises(Exception):  # noqa: B017 - safetensors refuses it, whatever its error
        m.load(str(tmp_path), MLP)
    assert not MARKER.exists()
    spec = json.loads((tmp_path / MODULE).read_text())
    spec["class"] = "os:system"
    (tmp_path / MODULE).write_text(json.dumps(spec))
    with pytest.raises(ArtifactError, match=r"is not a torch\.nn\.Module class"):
        m.load(str(tmp_path), None)


def test_tensor_and_tensor_dataset_round_trips(tmp_path: Path) -> None:
    t = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    (tmp_path / "t").mkdir()
    TensorMaterializer().save(t, str(tmp_path / "t"))
    back = TensorMaterializer().load(str(tmp_path / "t"), torch.Tensor)
    assert torch.equal(back, t) and back.dtype == torch.float64
    ds = torch.utils.data.TensorDataset(torch.randn(6, 2), torch.arange(6))
    (tmp_path / "d").mkdir()
    TensorDatasetMaterializer().save(ds, str(tmp_path / "d"))
    again = TensorDatasetMaterializer().load(str(tmp_path / "d"), None)
    assert all(torch.equal(a, b) for a, b in zip(again.tensors, ds.tensors, strict=True))


def test_a_dataloader_says_what_to_pass_instead(tmp_path: Path) -> None:
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 2)))
    with pytest.raises(ArtifactError, match="DataLoader is not stored") as err:
        DataLoaderMaterializer().save(loader, str(tmp_path))
    assert "TensorDataset" in (err.value.hint or "")
