"""@step / @pipeline authoring and compile-time checks (plans are compiled, nothing runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import pytest

from bevel import pipeline, step
from bevel.api import compile_pipeline
from bevel.dag.graph import is_topological
from bevel.dag.plan import Plan
from bevel.errors import BevelError, DefinitionError, MaterializerNotFound, ParameterError

THIS_FILE = Path(__file__).name


@step
def make(n: int = 3) -> list[int]:
    return list(range(n))


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@step
def pair(xs: list[int]) -> tuple[Annotated[int, "first"], Annotated[int, "last"]]:
    return xs[0], xs[-1]


@step(retries=2, enable_cache=False)
def add(a: int, b: int) -> int:
    return a + b


@step
def note() -> None:
    pass


def test_a_step_outside_a_pipeline_is_just_the_function() -> None:
    assert make(2) == [0, 1]
    assert add(1, 2) == 3
    assert pair([4, 5, 6]) == (4, 6)


def test_plan_has_params_inputs_outputs_and_distinct_ids() -> None:
    @pipeline
    def p(n: int = 4) -> None:
        xs = make(n)
        first, last = pair(xs)
        add(first, last)
        add(total(xs), 1)

    plan = compile_pipeline(p, params={"n": 5}).plan
    assert [s.id for s in plan.steps] == ["make", "pair", "add", "total", "add_2"]
    assert plan.params == {"n": 5}
    assert plan.step("make").params == {"n": 5}
    assert plan.step("pair").inputs["xs"].step == "make"
    assert [o.name for o in plan.step("pair").outputs] == ["first", "last"]
    add1 = plan.step("add")
    assert (add1.inputs["a"].output, add1.inputs["b"].output) == ("first", "last")
    assert plan.step("add_2").params == {"b": 1}
    assert add1.options.retries == 2 and add1.options.enable_cache is False
    assert is_topological(plan)


def test_plan_is_pure_json_and_round_trips() -> None:
    @pipeline
    def p() -> None:
        total(make())

    plan = compile_pipeline(p).plan
    text = json.dumps(plan.to_dict())
    assert Plan.from_dict(json.loads(text)) == plan


def test_after_orders_without_data() -> None:
    @pipeline
    def p() -> None:
        done = note()
        make(after=done)

    plan = compile_pipeline(p).plan
    assert plan.step("make").after == ("note",)
    assert plan.step("make").upstream == ("note",)
    assert plan.step("note").outputs == ()


def test_bad_after_points_at_the_call_line() -> None:
    @pipeline
    def p() -> None:
        note()
        make(after=note)  # the step itself, not what calling it returned

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    text = str(err.value)
    assert "after= takes step outputs or invocations, got StepDefinition" in text
    line = p.func.__code__.co_firstlineno + 3
    assert (
        f"{THIS_FILE}:{line}:" in text and "hint: pass what an earlier step call returned" in text
    )


def test_explicit_ids_and_duplicate_ids() -> None:
    @pipeline
    def ok() -> None:
        make.with_options(id="small")(1)
        make.with_options(id="big")(100)

    assert [s.id for s in compile_pipeline(ok).plan.steps] == ["small", "big"]

    @pipeline
    def clash() -> None:
        make.with_options(id="x")(1)
        make.with_options(id="x")(2)

    with pytest.raises(DefinitionError, match="share the id 'x'") as err:
        compile_pipeline(clash)
    assert THIS_FILE in str(err.value)


def test_counted_ids_skip_explicit_ones_and_count_per_name() -> None:
    """``make``, ``make_2``... per step name, skipping an id given explicitly meanwhile (the
    counter is kept per name, not recounted from every earlier call)."""

    @pipeline
    def mixed() -> None:
        make(1)
        make.with_options(id="make_3")(2)
        make(3)
        total(make(4))
        make(5)
        total(make(6))

    ids = [s.id for s in compile_pipeline(mixed).plan.steps]
    assert ids == ["make", "make_3", "make_2", "make_4", "total", "make_5", "make_6", "total_2"]

    @pipeline
    def later_clash() -> None:
        make(1)
        make(2)
        make.with_options(id="make_2")(3)  # taken by the counted second call

    with pytest.raises(DefinitionError, match="share the id 'make_2'"):
        compile_pipeline(later_clash)


def test_unknown_input_points_at_the_call_line() -> None:
    @pipeline
    def p() -> None:
        total(make(), nope=1)  # the offending line

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    text = str(err.value)
    assert "bad call of step 'total'" in text and "nope" in text
    assert f"{THIS_FILE}:" in text and "hint: its signature is total(xs: list[int]) -> int" in text


def test_missing_input_is_named() -> None:
    @pipeline
    def p() -> None:
        total()

    with pytest.raises(DefinitionError, match="step 'total' is missing the input 'xs'"):
        compile_pipeline(p)


def test_type_mismatch_between_output_and_input_annotation() -> None:
    @step
    def text() -> str:
        return "x"

    @pipeline
    def p() -> None:
        total(text())

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    assert "expects 'xs' to be list[int]" in str(err.value)
    assert "output 'output' of step 'text', annotated str" in str(err.value)


def test_optional_output_feeds_an_optional_input() -> None:
    # Regression: Optional[int] -> Optional[int] was reported as a type mismatch.
    @step
    def maybe() -> int | None:
        return None

    @step
    def use(x: Optional[int], y: int | str | None = None) -> int:  # noqa: UP045 - both spellings
        return x or 0

    @step
    def strict(x: int) -> int:
        return x

    @pipeline
    def ok() -> None:
        m = maybe()
        use(m, y=maybe())

    plan = compile_pipeline(ok).plan
    assert plan.step("use").inputs["x"].step == "maybe"

    @pipeline
    def bad() -> None:
        strict(maybe())  # None may flow into an int

    with pytest.raises(DefinitionError, match="expects 'x' to be int, but it is fed the output"):
        compile_pipeline(bad)


def test_non_json_parameter_is_rejected_with_its_path() -> None:
    @pipeline
    def p() -> None:
        make(n=object())

    with pytest.raises(ParameterError) as err:
        compile_pipeline(p)
    assert "parameter 'n' of step 'make' is not JSON-serialisable" in str(err.value)
    assert "hint:" in str(err.value)

    @pipeline
    def q(cfg: Any = None) -> None:
        make(3)

    with pytest.raises(ParameterError, match=r"cfg.lr = nan"):
        compile_pipeline(q, params={"cfg": {"lr": float("nan")}})


def test_no_materializer_for_an_output_type() -> None:
    class Model:
        pass

    @step
    def fit() -> Model:
        return Model()

    @pipeline
    def p() -> None:
        fit()

    with pytest.raises(MaterializerNotFound) as err:
        compile_pipeline(p)
    text = str(err.value)
    assert "no materializer for the output 'output' of step 'fit'" in text
    assert "register_materializer" in text and "pickle" in text
    assert THIS_FILE in text

    @pipeline
    def opted() -> None:
        fit.with_options(pickle=True)()

    assert compile_pipeline(opted).plan.step("fit").outputs[0].pickle


def test_duplicate_output_names() -> None:
    @step
    def two() -> tuple[Annotated[int, "a"], Annotated[int, "a"]]:
        return 1, 2

    @pipeline
    def p() -> None:
        two()

    with pytest.raises(
        DefinitionError, match=r"declares the output name\(s\) \['a'\] more than once"
    ):
        compile_pipeline(p)


def test_pipeline_parameters_unknown_and_missing() -> None:
    @pipeline
    def p(n: int, scale: float = 1.0) -> None:
        make(n)

    with pytest.raises(ParameterError, match="has no parameter\\(s\\) 'bogus'") as err:
        compile_pipeline(p, params={"n": 1, "bogus": 2})
    assert "its parameters are: n, scale" in str(err.value)
    with pytest.raises(ParameterError, match="needs a value for the parameter 'n'"):
        compile_pipeline(p)


def test_output_unpacking_mistakes_are_explained() -> None:
    @pipeline
    def p() -> None:
        _a, _b = make()

    with pytest.raises(DefinitionError, match="single artifact and cannot be unpacked"):
        compile_pipeline(p)

    @pipeline
    def q() -> None:
        if make():
            pass

    with pytest.raises(DefinitionError, match="cannot be used in an if/while"):
        compile_pipeline(q)


def test_a_tuple_of_outputs_passed_as_one_argument_is_explained() -> None:
    @step
    def one() -> tuple[Annotated[int, "a"]]:
        return (1,)

    @pipeline
    def p() -> None:
        total(one())  # the offending line

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    text = str(err.value)
    assert (
        "argument 'xs' of step 'total' is a tuple holding the output(s) 'a' of step 'one'" in text
    )
    assert f"{THIS_FILE}:" in text and "unpack it first, e.g. `a, = ...`" in text

    @pipeline
    def q() -> None:
        total([make(), make()])  # a list of outputs is a fan-in now (issue 8)

    spec = compile_pipeline(q).plan.step("total")
    assert spec.lists == ("xs",)
    assert {n: (r.step, r.output) for n, r in spec.inputs.items()} == {
        "xs[0]": ("make", "output"),
        "xs[1]": ("make_2", "output"),
    }


def test_a_named_output_starting_with_output_is_a_single_output() -> None:
    @step
    def produce() -> Annotated[list[int], "output_rows"]:
        return [1]

    @pipeline
    def p() -> None:
        total(produce())

    plan = compile_pipeline(p).plan
    assert plan.step("total").inputs["xs"].output == "output_rows"
    assert plan.step("produce").returns_tuple is False

    @pipeline
    def q() -> None:
        first, _ = pair(make())
        total(produce(), after=first)

    assert compile_pipeline(q).plan.step("pair").returns_tuple is True


def test_pipeline_called_with_a_parameter_twice_is_an_error(bevel_home: Path) -> None:
    @pipeline
    def p(n: int = 1, *, scale: float = 1.0) -> None:
        make(n)

    with pytest.raises(ParameterError) as err:
        p(5, n=7)
    text = str(err.value)
    assert "pipeline 'p' got more than one value for the parameter(s) 'n'" in text
    assert THIS_FILE in text
    with pytest.raises(ParameterError) as err2:
        p(5, 2.0)  # scale is keyword-only
    assert "pipeline 'p' takes 1 positional parameter(s), got 2" in str(err2.value)
    assert "hint: pass parameters by name: p(n=..., scale=...)" in str(err2.value)
    assert not (bevel_home / "metadata.db").exists()  # refused before anything was recorded


def test_unknown_step_option() -> None:
    with pytest.raises(DefinitionError, match="unknown option for @step"):

        @step(retrys=2)  # type: ignore[call-overload]
        def f() -> int:
            return 1


def test_an_empty_pipeline_is_an_error() -> None:
    @pipeline
    def p() -> None:
        pass

    with pytest.raises(DefinitionError, match="calls no steps"):
        compile_pipeline(p)


def test_caching_flags_resolve_run_over_step_over_pipeline() -> None:
    @step(enable_cache=True)
    def sticky() -> int:
        return 1

    @pipeline(enable_cache=False)
    def p() -> None:
        sticky()
        make()

    plan = compile_pipeline(p).plan
    assert plan.step("sticky").options.enable_cache is True
    assert plan.step("make").options.enable_cache is False
    forced = compile_pipeline(p, enable_cache=False).plan
    assert forced.step("sticky").options.enable_cache is False


def test_errors_are_bevel_errors_with_hints() -> None:
    assert issubclass(MaterializerNotFound, BevelError)


def test_parameter_type_must_match_a_plain_annotation() -> None:
    @step
    def fit(C: float = 1.0, tags: list[str] | None = None, flag: bool = False) -> int:
        return 1

    @pipeline
    def p(C: Any = 1.0, tags: Any = None, flag: Any = False) -> None:
        fit(C=C, tags=tags, flag=flag)

    assert compile_pipeline(p, params={"C": 2}).plan.step("fit").params["C"] == 2  # int is a float
    assert compile_pipeline(p, params={"tags": ["a"]}).plan
    with pytest.raises(ParameterError) as err:
        compile_pipeline(p, params={"C": "abc"})
    text = str(err.value)
    assert "parameter 'C' of step 'fit' is annotated float but got str 'abc'" in text
    assert THIS_FILE in text and "-p C=" in text
    with pytest.raises(ParameterError, match="annotated list\\[str\\] \\| None but got int 3"):
        compile_pipeline(p, params={"tags": 3})
    with pytest.raises(ParameterError, match="annotated float but got bool True"):
        compile_pipeline(p, params={"C": True})
