"""Signatures come from type hints, as a user writes them."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest

from tempo_core import ModelFramework, TempoError, TensorSpec, ValueKind, model
from tempo_core.errors import SignatureError


def kinds(specs: Any) -> list[tuple[str, ValueKind]]:
    return [(spec.name, spec.kind) for spec in specs]


def test_each_parameter_is_a_named_input_and_the_return_one_output() -> None:
    @model(name="scorer")
    def scorer(features: np.ndarray, label: str, threshold: float, count: int, flag: bool, raw: bytes) -> np.ndarray:
        return features

    assert kinds(scorer.details.inputs) == [
        ("features", ValueKind.ndarray),
        ("label", ValueKind.str),
        ("threshold", ValueKind.float),
        ("count", ValueKind.int),
        ("flag", ValueKind.bool),
        ("raw", ValueKind.bytes),
    ]
    assert kinds(scorer.details.outputs) == [("output0", ValueKind.ndarray)]
    assert not scorer.signature.multiple_outputs


def test_a_tuple_return_is_several_outputs() -> None:
    @model(name="tagger")
    def tagger(payload: np.ndarray) -> Tuple[np.ndarray, str]:
        return payload, "tag"

    assert kinds(tagger.details.outputs) == [("output0", ValueKind.ndarray), ("output1", ValueKind.str)]
    assert tagger.signature.multiple_outputs


@pytest.mark.parametrize(
    ("hint", "kind", "optional"),
    [
        (Dict[str, Any], ValueKind.json, False),
        (dict, ValueKind.json, False),
        (List[float], ValueKind.json, False),
        (Optional[np.ndarray], ValueKind.ndarray, True),
        (Optional[dict], ValueKind.json, True),
    ],
)
def test_dict_list_and_optional_returns_stay_one_output(hint: Any, kind: ValueKind, optional: bool) -> None:
    def predict(payload: np.ndarray) -> None: ...

    predict.__annotations__["return"] = hint
    decorated = model(name="one-output")(predict)

    assert [(spec.kind, spec.optional) for spec in decorated.details.outputs] == [(kind, optional)]
    assert not decorated.signature.multiple_outputs


def test_explicit_inputs_and_outputs_override_the_hints() -> None:
    @model(name="explicit", inputs={"x": np.ndarray, "name": str}, outputs=[np.ndarray, dict])
    def explicit(x, name):  # type: ignore[no-untyped-def]
        return x, {"name": name}

    assert kinds(explicit.details.inputs) == [("x", ValueKind.ndarray), ("name", ValueKind.str)]
    assert kinds(explicit.details.outputs) == [("output0", ValueKind.ndarray), ("output1", ValueKind.json)]
    assert explicit(np.ones(1), "a")[1] == {"name": "a"}


def test_an_unsupported_hint_names_the_model_the_input_and_the_fix() -> None:
    with pytest.raises(SignatureError, match=r"model 'sets'.*input 'values'.*not supported; use np.ndarray"):

        @model(name="sets")
        def sets(values: set) -> np.ndarray:  # type: ignore[type-arg]
            return np.zeros(1)


def test_a_union_without_a_single_wire_type_is_refused() -> None:
    with pytest.raises(TempoError, match=r"output.*union"):

        @model(name="either")
        def either(payload: np.ndarray) -> np.ndarray | str:
            return payload


def test_variadic_parameters_are_refused_because_they_have_no_names() -> None:
    with pytest.raises(SignatureError, match=r"\*args"):

        @model(name="variadic", platform=ModelFramework.Custom)
        def variadic(*args: np.ndarray) -> np.ndarray:
            return args[0]


def test_signatures_are_json_for_manifests() -> None:
    @model(name="tagger")
    def tagger(payload: np.ndarray) -> Tuple[np.ndarray, str]:
        return payload, "tag"

    restored = type(tagger.signature).model_validate_json(tagger.signature.model_dump_json())
    assert restored == tagger.signature


def test_an_array_spec_can_declare_the_dtype_and_shape_its_metadata_advertises() -> None:
    @model(name="declared", inputs=[TensorSpec(name="rows", dtype="float32", shape=(-1, 4))])
    def declared(rows: np.ndarray) -> np.ndarray:
        return rows

    (spec,) = declared.signature.inputs
    assert (spec.name, spec.dtype, spec.shape) == ("rows", "float32", (-1, 4))
    np.testing.assert_array_equal(declared(np.ones((2, 4), dtype=np.float32)), np.ones((2, 4)))


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"dtype": "float33"}, "'float33' is not a numpy dtype"),
        ({"shape": (2, -3)}, "-1 for any size"),
        ({"kind": ValueKind.str, "dtype": "float32"}, "only arrays"),
    ],
)
def test_a_wrong_dtype_or_shape_is_refused_naming_it(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        TensorSpec(name="rows", **fields)


def test_explicit_unnamed_inputs_take_the_functions_own_parameter_names() -> None:
    @model(name="custom", inputs=np.ndarray, outputs=np.ndarray)
    def custom(a):  # type: ignore[no-untyped-def]
        return a * 2

    assert kinds(custom.details.inputs) == [("a", ValueKind.ndarray)]
    assert custom(a=np.ones(1)).tolist() == [2.0]
    assert custom(np.ones(1)).tolist() == [2.0]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([np.ndarray, np.ndarray], r"inputs= gives 2 type\(s\), but .*custom takes 1 parameter\(s\) \(a\)"),
        ({"input0": np.ndarray}, r"inputs= names input0, but .*custom takes \(a\) \(input0 not among its parameters"),
    ],
)
def test_explicit_inputs_that_do_not_match_the_parameters_are_refused(inputs: Any, message: str) -> None:
    with pytest.raises(SignatureError, match=rf"model 'custom': {message}"):

        @model(name="custom", inputs=inputs)
        def custom(a):  # type: ignore[no-untyped-def]
            return a


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (List[np.ndarray], r"would give arrays back as lists.*return Tuple\[np.ndarray, \.\.\.\]"),
        (Dict[str, np.ndarray], r"would give arrays back as lists"),
        (List[Tuple[int, int]], r"would give tuples back as lists"),
        (List[bytes], r"would give bytes values back as text"),
        (Dict[int, str], r"whose keys are text, so its int keys would come back as str"),
    ],
)
def test_a_json_hint_that_json_cannot_give_back_is_refused_at_decoration(hint: Any, message: str) -> None:
    def predict(payload: np.ndarray) -> None: ...

    predict.__annotations__["return"] = hint
    with pytest.raises(SignatureError, match=rf"model 'lists' output 'output0': .*{message}"):
        model(name="lists")(predict)
