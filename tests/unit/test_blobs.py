"""Values pickled for the wire: small ones in the pickle stream, large arrays beside it, uncopied."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from core.wire import blobs


def test_a_small_value_is_one_pickle_stream():
    value = {"a": [1, 2.5], "b": "text", "array": np.arange(10)}
    buffers = blobs.pack(value)
    assert len(buffers) == 1 and type(buffers[0]) is bytes
    unpacked = blobs.unpack(buffers)
    assert unpacked.keys() == value.keys() and np.array_equal(unpacked["array"], value["array"])


def test_an_array_of_the_out_of_band_size_travels_beside_the_stream_without_a_copy():
    array = np.ones(blobs.OUT_OF_BAND_MIN, dtype=np.uint8)
    data, buffer = blobs.pack({"data": array})
    assert buffer.nbytes == blobs.OUT_OF_BAND_MIN and np.shares_memory(np.frombuffer(buffer, np.uint8), array)
    assert len(data) < 1000
    assert np.array_equal(blobs.unpack([data, buffer])["data"], array)


def test_an_array_one_byte_under_the_out_of_band_size_stays_in_the_stream():
    buffers = blobs.pack(np.ones(blobs.OUT_OF_BAND_MIN - 1, dtype=np.uint8))
    assert len(buffers) == 1


def test_several_large_arrays_keep_their_order():
    first, second = np.full(100_000, 1.0), np.full(200_000, 2.0)
    buffers = blobs.pack((first, "between", second))
    assert [b.nbytes for b in buffers[1:]] == [800_000, 1_600_000]
    out_first, between, out_second = blobs.unpack(buffers)
    assert between == "between" and np.array_equal(out_first, first) and np.array_equal(out_second, second)


def test_large_bytes_stay_in_the_stream_because_they_offer_no_pickle_buffer():
    buffers = blobs.pack(bytes(blobs.OUT_OF_BAND_MIN * 2))
    assert len(buffers) == 1 and len(buffers[0]) > blobs.OUT_OF_BAND_MIN * 2


def test_a_value_that_cannot_be_pickled_raises_what_pickle_raises():
    with pytest.raises(TypeError, match="^cannot pickle '_thread.lock' object$"):
        blobs.pack(threading.Lock())


def test_an_unpicklable_value_is_described_by_its_full_type_name():
    error = TypeError("cannot pickle '_thread.lock' object")
    assert blobs.describe_unpicklable(threading.Lock(), error) == (
        "a value of type _thread.lock cannot be pickled: cannot pickle '_thread.lock' object")
