"""PyTorch modules, tensors and datasets in safe formats: loading never runs pickled code.

Registered in the materializer table by ``"module:qualname"`` strings, so torch is imported
only when one of its objects is saved or loaded.

``nn.Module`` (``TorchModuleMaterializer``): the weights go to ``weights.safetensors`` (tensors
only, no code) and what rebuilds the module to ``module.json``: the class as an importable
``"module:qualname"`` reference (a class in the script being run is recorded by file path, as
for every type bevel records) and the constructor's keyword arguments, as JSON. Loading imports
that class, calls it with those arguments and loads the weights into it (strictly: every name
and shape must match), restoring ``train()``/``eval()`` mode. The arguments are found, in order:

1. recorded by :func:`saves_init` (a class decorator: ``@saves_init class Net(nn.Module)``),
2. an ``init_args`` dict attribute on the module (``self.init_args = {"hidden": 64}``),
3. the ``__init__`` parameters that the module keeps as attributes of the same name
   (``def __init__(self, hidden=64): ...; self.hidden = hidden``), and defaults.

Whatever the source, saving *checks* them: it builds a new module with those arguments and
compares every parameter and buffer name and shape with the module being saved; a mismatch is
an error at save time (naming what differs) rather than a model that cannot be loaded later.
Modules that cannot be rebuilt from JSON arguments (they take another module, a callable...)
need ``@saves_init`` with JSON-able arguments, a materializer of their own, or the explicit
pickle opt-in: ``@step(pickle=["model"])``.

``torch.Tensor`` (``TensorMaterializer``): one tensor in safetensors (dtype, shape and values
exact; loaded on the CPU, the device it was on is in the metadata). ``TensorDataset``
(``TensorDatasetMaterializer``): its tensors in one safetensors file. Other ``Dataset`` classes
and ``DataLoader`` are not data (a loader holds workers, a sampler and a random state; a custom
dataset may read files on the fly), so bevel does not guess: the documented strategy is to pass
tensors or a ``TensorDataset`` between steps and build the ``DataLoader`` in the step that
iterates it (or register a materializer for your dataset class).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import safetensors.torch
import torch

from bevel.artifacts.materializers.refs import import_ref, type_ref
from bevel.errors import ArtifactError

WEIGHTS = "weights.safetensors"
MODULE = "module.json"
TENSORS = "tensors.safetensors"
_INIT_ATTR = "_bevel_init_args"

C = TypeVar("C", bound=type)


def saves_init(cls: C) -> C:
    """Record the keyword arguments each instance of ``cls`` is built with (for saving).

    ::

        @saves_init
        class Net(nn.Module):
            def __init__(self, hidden: int = 64, layers: int = 2) -> None: ...
    """
    original: Callable[..., None] = cls.__init__  # type: ignore[misc]
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        original(self, *args, **kwargs)
        values = dict(list(bound.arguments.items())[1:])
        object.__setattr__(self, _INIT_ATTR, values)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def _device_of(module: torch.nn.Module) -> str:
    for tensor in list(module.parameters()) + list(module.buffers()):
        return str(tensor.device)
    return "cpu"


def _init_args(module: torch.nn.Module) -> tuple[dict[str, Any], str]:
    """The constructor's keyword arguments and where they came from."""
    recorded = getattr(module, _INIT_ATTR, None)
    if isinstance(recorded, dict):
        return dict(recorded), "saves_init"
    given = getattr(module, "init_args", None)
    if isinstance(given, dict):
        return dict(given), "init_args"
    found: dict[str, Any] = {}
    params = list(inspect.signature(type(module).__init__).parameters.values())[1:]
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in vars(module) or hasattr(module, p.name):
            found[p.name] = getattr(module, p.name)
        elif p.default is p.empty:
            raise ArtifactError(
                f"cannot tell how to rebuild {type(module).__qualname__}: its __init__ "
                f"parameter {p.name!r} is neither kept as an attribute nor has a default",
                hint=_REBUILD_HINT,
            )
    return found, "attributes"


_REBUILD_HINT = (
    "decorate the class with @bevel.integrations.torch.saves_init, or set self.init_args = "
    "{...} (JSON values) in __init__; or store the whole module as a pickle, explicitly: "
    '@step(pickle=["model"])'
)


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    state = module.state_dict()
    return {name: tuple(t.shape) for name, t in state.items()}


def _check_rebuild(module: torch.nn.Module, args: dict[str, Any], source: str) -> None:
    try:
        json.dumps(args, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(
            f"the constructor arguments of {type(module).__qualname__} (from {source}) are not "
            f"JSON: {exc}",
            hint=_REBUILD_HINT,
        ) from exc
    try:
        rebuilt = type(module)(**args)
    except Exception as exc:
        raise ArtifactError(
            f"{type(module).__qualname__}(**{args!r}) (arguments from {source}) fails: "
            f"{type(exc).__name__}: {exc}",
            hint=_REBUILD_HINT,
        ) from exc
    want, got = _shapes(module), _shapes(rebuilt)
    if want != got:
        diff = sorted(set(want.items()) ^ set(got.items()))[:4]
        raise ArtifactError(
            f"{type(module).__qualname__}(**{args!r}) (arguments from {source}) does not "
            f"rebuild the module being saved: parameters differ ({diff})",
            hint=_REBUILD_HINT,
        )


class TorchModuleMaterializer:
    """``nn.Module``: weights in safetensors, the class and its constructor arguments in JSON."""

    version: ClassVar[str] = "1"

    def save(self, obj: torch.nn.Module, directory: str) -> None:
        args, source = _init_args(obj)
        _check_rebuild(obj, args, source)
        state = {k: v.detach().to("cpu").contiguous() for k, v in obj.state_dict().items()}
        safetensors.torch.save_file(_unshared(state), os.path.join(directory, WEIGHTS))
        spec = {
            "class": type_ref(type(obj)),
            "init_args": args,
            "training": obj.training,
            "torch_version": torch.__version__.split("+")[0],
        }
        with open(os.path.join(directory, MODULE), "w", encoding="utf-8") as f:
            f.write(json.dumps(spec, sort_keys=True, indent=1))

    def load(self, directory: str, type_: type | None) -> torch.nn.Module:
        with open(os.path.join(directory, MODULE), encoding="utf-8") as f:
            spec = json.loads(f.read())
        cls = import_ref(spec["class"])
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise ArtifactError(
                f"{spec['class']} is not a torch.nn.Module class; the file was changed",
                hint="re-run the step that produced it (`bevel run ... --no-cache`)",
            )
        module = cls(**spec["init_args"])
        state = safetensors.torch.load_file(os.path.join(directory, WEIGHTS), device="cpu")
        module.load_state_dict(state, strict=True)
        module.train(bool(spec.get("training", False)))
        return module

    def metadata(self, obj: torch.nn.Module) -> dict[str, Any]:
        n_params = sum(p.numel() for p in obj.parameters())
        return {
            "class": type_ref(type(obj)),
            "parameters": int(n_params),
            "device": _device_of(obj),
            "torch_version": torch.__version__,
        }


def _unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors sharing memory (tied weights): give each its own copy."""
    seen: set[int] = set()
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        ptr = tensor.untyped_storage().data_ptr() if tensor.numel() else -len(out) - 1
        out[name] = tensor.clone() if ptr in seen else tensor
        seen.add(ptr)
    return out


class TensorMaterializer:
    """One ``torch.Tensor`` in safetensors, loaded on the CPU."""

    version: ClassVar[str] = "1"

    def save(self, obj: torch.Tensor, directory: str) -> None:
        tensor = obj.detach().to("cpu").contiguous()
        safetensors.torch.save_file({"tensor": tensor}, os.path.join(directory, TENSORS))

    def load(self, directory: str, type_: type | None) -> torch.Tensor:
        return safetensors.torch.load_file(os.path.join(directory, TENSORS))["tensor"]

    def metadata(self, obj: torch.Tensor) -> dict[str, Any]:
        return {"shape": list(obj.shape), "dtype": str(obj.dtype), "device": str(obj.device)}


class TensorDatasetMaterializer:
    """A ``TensorDataset``: its tensors, in order, in one safetensors file."""

    version: ClassVar[str] = "1"

    def save(self, obj: torch.utils.data.TensorDataset, directory: str) -> None:
        tensors = {
            f"{i}": t.detach().to("cpu").contiguous().clone() for i, t in enumerate(obj.tensors)
        }
        safetensors.torch.save_file(tensors, os.path.join(directory, TENSORS))

    def load(self, directory: str, type_: type | None) -> torch.utils.data.TensorDataset:
        found = safetensors.torch.load_file(os.path.join(directory, TENSORS))
        return torch.utils.data.TensorDataset(*(found[str(i)] for i in range(len(found))))

    def metadata(self, obj: torch.utils.data.TensorDataset) -> dict[str, Any]:
        return {
            "rows": len(obj),
            "tensors": [{"shape": list(t.shape), "dtype": str(t.dtype)} for t in obj.tensors],
        }


class DataLoaderMaterializer:
    """Refuses, saying what to do: a DataLoader is a way to iterate data, not data."""

    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        raise ArtifactError(
            "a torch DataLoader is not stored as an artifact: it holds workers, a sampler and a "
            "random state, not data",
            hint="return its dataset instead (a TensorDataset, or tensors) and build the "
            "DataLoader in the step that iterates it: DataLoader(dataset, batch_size=64)",
        )

    def load(self, directory: str, type_: type | None) -> Any:
        raise ArtifactError("a DataLoader is never stored")
