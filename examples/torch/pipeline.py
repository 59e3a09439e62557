"""A small torch model on scikit-learn's bundled digits: a Dataset and an nn.Module between steps.

``prepare`` turns the 8x8 digit images into a ``TensorDataset`` (stored in safetensors),
``fit`` trains a small MLP on it (on ``cuda`` when torch sees a GPU: ``current.device``; the
device used is recorded on the step and on the model version) and returns the ``nn.Module``
(weights in safetensors, the class and its constructor arguments in JSON: loading runs no
pickle), ``evaluate`` scores it on held-out digits. A second run is served from the cache::

    python examples/torch/pipeline.py
    bevel run examples/torch/pipeline.py:digits -p epochs=30
    bevel models show digits
"""

from __future__ import annotations

from typing import Annotated

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bevel import Model, current, evaluator, log_metric, pipeline, step, trainer


class DigitNet(nn.Module):
    """64 pixels -> hidden -> 10 classes. Keeps its arguments, so bevel can rebuild it."""

    def __init__(self, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.hidden, self.dropout = hidden, dropout
        self.layers = nn.Sequential(
            nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@step
def prepare(
    test_fraction: float = 0.25, seed: int = 0
) -> tuple[Annotated[TensorDataset, "train"], Annotated[TensorDataset, "test"]]:
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(len(y) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    return TensorDataset(x[train], y[train]), TensorDataset(x[test], y[test])


@trainer
def fit(train: TensorDataset, epochs: int = 15, hidden: int = 64, lr: float = 0.01) -> DigitNet:
    torch.manual_seed(0)
    device = torch.device(current.device)  # cuda:0 when there is a GPU, else cpu
    model = DigitNet(hidden=hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(
        train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        log_metric("loss", total / len(train), step=epoch)
    return model.eval().to("cpu")


@evaluator
def evaluate(model: DigitNet, test: TensorDataset) -> Annotated[float, "accuracy"]:
    x, y = test.tensors
    with torch.no_grad():
        accuracy = float((model(x).argmax(dim=1) == y).float().mean())
    log_metric("accuracy", accuracy)
    return accuracy


@pipeline(model=Model("digits", description="handwritten digits, 8x8 pixels"))
def digits(epochs: int = 15, hidden: int = 64) -> None:
    train, test = prepare()
    evaluate(fit(train, epochs=epochs, hidden=hidden), test)


if __name__ == "__main__":
    run = digits()
    print(f"accuracy {run.steps['evaluate'].outputs['accuracy'].load():.3f}")
