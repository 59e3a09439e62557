"""Naming a step invocation at the call site: ``train(data, id="train_svc")``, as ZenML users
write it, besides ``train.with_options(id="train_svc")(data)``.

A step whose function has a parameter named ``id`` receives it: the function's own signature
wins (a step called outside a pipeline is just the function, so the same call must mean the same
thing in both places); such an invocation is named with ``with_options(id=...)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel import pipeline, step
from bevel.api import compile_pipeline
from bevel.errors import DefinitionError

THIS_FILE = Path(__file__).name
Invoke = Callable[..., Result]


@step
def make(n: int = 3) -> list[int]:
    return list(range(n))


@step
def train(xs: list[int], C: float = 1.0) -> float:
    return sum(xs) * C


@step
def fetch(id: int) -> str:  # a parameter named like the call-site option
    return f"user-{id}"


def test_call_site_ids_name_the_invocations(bevel_home: Path) -> None:
    @pipeline
    def sweep() -> None:
        xs = make(4)
        train(xs, C=0.1, id="train_small")
        train(xs, C=10.0, id="train_big")
        train(xs)  # unnamed: the function name

    plan = compile_pipeline(sweep).plan
    assert [s.id for s in plan.steps] == ["make", "train_small", "train_big", "train"]
    assert plan.step("train_big").params == {"C": 10.0}  # id= is not a parameter
    run = sweep()
    assert run.status == "completed"
    assert run.steps["train_small"].output.load() == pytest.approx(0.6)
    assert run.steps["train_big"].output.load() == pytest.approx(60.0)
    assert run.steps["train_big"].params == {"C": 10.0}


def test_call_site_id_names_what_the_run_config_targets() -> None:
    @pipeline
    def sweep() -> None:
        xs = make()
        train(xs, id="train_svc")
        train(xs, id="train_rf")

    plan = compile_pipeline(
        sweep, config={"steps": {"train_rf": {"parameters": {"C": 3.0}, "retries": 2}}}
    ).plan
    rf, svc = plan.step("train_rf"), plan.step("train_svc")
    assert rf.params == {"C": 3.0} and rf.options.retries == 2
    assert svc.params == {"C": 1.0} and svc.options.retries == 0


def test_call_site_id_wins_over_with_options_and_outputs_wire_on() -> None:
    @pipeline
    def p() -> None:
        xs = make.with_options(id="from_options")(2, id="from_call")
        train(xs)

    plan = compile_pipeline(p).plan
    assert [s.id for s in plan.steps] == ["from_call", "train"]
    assert plan.step("train").upstream == ("from_call",)


def test_duplicate_call_site_ids_point_at_the_second_call() -> None:
    @pipeline
    def clash() -> None:
        xs = make()
        train(xs, id="t")
        train(xs, id="t")  # the second one

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(clash)
    text = str(err.value)
    line = clash.func.__code__.co_firstlineno + 4
    assert f"{THIS_FILE}:{line}: two step invocations share the id 't'" in text
    assert 'train(..., id="...")' in text and "train.with_options(id=...)" in text


def test_a_call_site_id_must_be_a_string() -> None:
    @pipeline
    def p() -> None:
        train(make(), id=2)

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    text = str(err.value)
    line = p.func.__code__.co_firstlineno + 2
    assert f"{THIS_FILE}:{line}:" in text
    assert "id= names this call of step 'train' and must be a string, got int" in text
    assert 'hint: e.g. train(..., id="train_2")' in text


def test_a_call_site_id_follows_the_rule_for_names() -> None:
    @pipeline
    def p() -> None:
        train(make(), id="../escape")

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    text = str(err.value)
    assert "invalid step id '../escape'" in text
    assert f"{THIS_FILE}:{p.func.__code__.co_firstlineno + 2}:" in text


def test_a_parameter_named_id_is_the_functions() -> None:
    @pipeline
    def users() -> None:
        fetch(id=7)
        fetch.with_options(id="fetch_admin")(id=1)

    plan = compile_pipeline(users).plan
    assert [s.id for s in plan.steps] == ["fetch", "fetch_admin"]
    assert plan.step("fetch").params == {"id": 7}
    assert plan.step("fetch_admin").params == {"id": 1}
    assert fetch(id=7) == "user-7"  # the same call outside a pipeline


def test_outside_a_pipeline_id_and_after_are_ignored() -> None:
    # The line from a pipeline body runs unchanged as a plain call (e.g. in a unit test).
    assert train([1, 2], C=2.0, id="train_svc") == 6.0
    assert train([1, 2], after=None, id="x") == 3.0


def test_call_site_id_from_the_cli(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "pipes.py"
    path.write_text(
        "from bevel import pipeline, step\n\n\n"
        "@step\ndef make(n: int = 3) -> list[int]:\n    return list(range(n))\n\n\n"
        "@step\ndef train(xs: list[int], C: float = 1.0) -> float:\n"
        "    print('C is', C)\n    return sum(xs) * C\n\n\n"
        "@pipeline\ndef sweep():\n    xs = make()\n"
        '    train(xs, C=0.5, id="train_svc")\n    train(xs, C=2.0, id="train_rf")\n'
    )
    result = invoke("run", f"{path}:sweep", "--name", "s1")
    assert result.exit_code == 0, result.output
    shown = invoke("runs", "show", "s1")
    assert "train_svc" in shown.output and "train_rf" in shown.output, shown.output
    logs = invoke("logs", "s1", "train_rf")
    assert logs.exit_code == 0 and "C is 2.0" in logs.output, logs.output


@step
def window(after: str = "2026-01-01") -> str:
    return after


def test_a_parameter_named_after_is_the_functions_too() -> None:
    @pipeline
    def p() -> None:
        window(after="2026-06-01")

    assert compile_pipeline(p).plan.step("window").params == {"after": "2026-06-01"}
    assert window(after="2026-06-01") == "2026-06-01"
