"""Values as literals where they round-trip, as summaries where they do not, and how they differ."""
from __future__ import annotations

import ast
import hashlib

import numpy as np

from core.sessions import literals
from core.sessions.literals import RESULT_LIMIT, difference, encode, literal_repr, summary


def _sha(data) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def test_plain_values_are_kept_as_literals_that_read_back_equal():
    value = {"vis": "X54.ms", "spw": [1, 3], "flags": {"a": (1, 2.5)}, "n": None, "on": True, "s": {4}}
    [text] = encode(value).values()
    assert encode(value) == {"literal": repr(value)}
    assert ast.literal_eval(text) == value


def test_nan_is_summarised_because_it_never_equals_itself():
    assert encode(float("nan")) == {"summary": {"type": "float", "repr": "nan"}}


def test_an_array_is_summarised_by_type_shape_dtype_size_a_digest_of_its_bytes_and_repr():
    assert encode(np.zeros((3, 4))) == {"summary": {
        "type": "numpy.ndarray", "shape": [3, 4], "dtype": "float64", "size": 12, "digest": _sha(bytes(96)),
        "repr": "array([[0., 0., 0., 0.],\n       [0., 0., 0., 0.],\n       [0., 0., 0., 0.]])"}}


def test_a_numpy_scalar_is_summarised_because_its_repr_is_a_call():
    assert encode(np.float64(1.5)) == {"summary": {"type": "numpy.float64", "shape": [], "dtype": "float64",
                                                   "size": 1, "digest": _sha(np.float64(1.5).tobytes()),
                                                   "repr": "np.float64(1.5)"}}


def test_a_string_longer_than_the_limit_is_summarised_with_a_shortened_repr():
    encoded = encode("x" * (RESULT_LIMIT * 2))
    assert encoded == {"summary": {"type": "str", "size": RESULT_LIMIT * 2,
                                   "repr": "'" + "x" * 57 + "..." + "x" * 58 + "'"}}


def test_a_container_of_more_than_half_the_limit_items_is_summarised_without_its_full_repr():
    assert literal_repr(list(range(6)), limit=10) is None
    assert literal_repr(list(range(5)), limit=100) == "[0, 1, 2, 3, 4]"
    assert encode(list(range(6000))) == {"summary": {"type": "list", "size": 6000,
                                                     "repr": "[0, 1, 2, 3, 4, 5, ...]"}}


def test_a_repr_longer_than_the_limit_has_no_literal():
    assert literal_repr(123456, limit=5) is None
    assert literal_repr(12345, limit=5) == "12345"


def test_without_a_limit_any_length_is_kept():
    assert literal_repr("y" * 50_000) == repr("y" * 50_000)


def test_an_object_with_a_broken_repr_is_summarised():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    value = Broken()
    assert literal_repr(value) is None
    assert summary(value) == {"type": f"{__name__}.{Broken.__qualname__}",
                              "repr": f"<{Broken.__name__} instance at {id(value):#x}>"}


def test_a_matching_result_has_no_difference():
    assert difference(encode(3), 3) is None
    assert difference(encode([1, (2, "a")]), [1, (2, "a")]) is None
    assert difference(encode(np.zeros(3)), np.zeros(3)) is None


def test_a_different_literal_result_is_described_with_both_values():
    assert difference(encode(2), 3) == "3 != recorded 2"
    assert difference(encode("a"), np.zeros(2)) == "array([0., 0.]) != recorded 'a'"


def test_a_different_summarised_result_is_described_by_its_facts():
    assert difference(encode(np.zeros(3)), np.zeros(2)) == (
        "type=numpy.ndarray shape=[2] dtype=float64 size=2 != "
        "recorded type=numpy.ndarray shape=[3] dtype=float64 size=3")


def test_an_array_with_the_same_shape_but_other_values_differs():
    assert difference(encode(np.arange(6.0)), np.arange(6.0)) is None
    assert difference(encode(np.arange(6.0)), np.arange(6.0)[::-1]) == (
        "type=numpy.ndarray shape=[6] dtype=float64 size=6, other values than recorded")


def test_a_strided_array_is_digested_by_its_values():
    strided = np.arange(12.0)[::2]
    assert summary(strided)["digest"] == summary(strided.copy())["digest"]


def test_an_array_beyond_the_digest_limit_is_compared_by_its_facts(monkeypatch):
    monkeypatch.setattr(literals, "DIGEST_LIMIT", 40)
    assert "digest" not in summary(np.zeros(6))
    assert difference(encode(np.zeros(6)), np.ones(6)) is None


def test_a_recording_without_a_digest_is_compared_by_the_facts_it_has():
    recorded = {"summary": {"type": "numpy.ndarray", "shape": [2], "dtype": "float64", "size": 2,
                            "repr": "array([0., 0.])"}}
    assert difference(recorded, np.ones(2)) is None
    assert difference(recorded, np.ones(3)) is not None


def test_nan_and_inf_are_compared_by_their_repr():
    assert difference(encode(float("nan")), float("nan")) is None
    assert difference(encode(float("inf")), float("nan")) == "nan != recorded inf"
    assert difference(encode(complex("nan")), complex("nan")) is None


def test_a_subclass_of_a_plain_type_whose_repr_reads_back_as_something_else_is_summarised():
    class Tagged(str):
        def __repr__(self):
            return f"Tagged({str.__repr__(self)})"

    assert literal_repr(Tagged("x")) is None and literal_repr("x") == "'x'"
