"""A server's output batch: what merges, what keeps its order, when it is due, and split UTF-8."""
from __future__ import annotations

import pytest

from core.supervision.output_batch import MAX_AGE, MAX_CHARS, OutputBatch
from core.wire.messages import LogItem, OutputItem


def test_consecutive_text_of_one_command_and_stream_becomes_one_item():
    batch = OutputBatch()
    batch.add_output(1, "stdout", b"abc")
    batch.add_output(1, "stdout", b"de\n")
    assert batch.items == [OutputItem(1, "stdout", "abcde\n")]
    assert batch.size == 6


def test_streams_commands_and_log_records_keep_the_order_they_were_produced_in():
    batch = OutputBatch()
    log = LogItem(1, 0.0, 30, "user", "careful")
    batch.add_output(1, "stdout", b"a")
    batch.add_output(1, "stderr", b"b")
    batch.add_log(log)
    batch.add_output(1, "stderr", b"c")
    batch.add_output(2, "stderr", b"d")
    assert batch.items == [OutputItem(1, "stdout", "a"), OutputItem(1, "stderr", "b"), log,
                           OutputItem(1, "stderr", "c"), OutputItem(2, "stderr", "d")]
    assert batch.size == 4 + len("careful")


def test_a_character_split_across_reads_is_kept_whole():
    batch = OutputBatch()
    encoded = "é€".encode()
    batch.add_output(1, "stdout", encoded[:1])
    assert batch.items == [] and batch.due_in(0.0) is None
    batch.add_output(1, "stdout", encoded[1:3])
    batch.add_output(1, "stdout", encoded[3:])
    assert batch.items == [OutputItem(1, "stdout", "é€")]


def test_each_stream_decodes_its_own_split_characters():
    batch = OutputBatch()
    out, err = "ü".encode(), "ß".encode()
    batch.add_output(1, "stdout", out[:1])
    batch.add_output(1, "stderr", err[:1])
    batch.add_output(1, "stdout", out[1:])
    batch.add_output(1, "stderr", err[1:])
    assert batch.items == [OutputItem(1, "stdout", "ü"), OutputItem(1, "stderr", "ß")]


def test_bytes_that_are_not_utf8_become_replacement_characters():
    batch = OutputBatch()
    batch.add_output(None, "stdout", b"a\xffb")
    assert batch.items == [OutputItem(None, "stdout", "a\ufffdb")]


def test_an_empty_batch_is_never_due():
    assert OutputBatch().due_in(1e9) is None


def test_a_batch_is_due_max_age_after_its_oldest_item():
    batch = OutputBatch()
    batch.add_output(1, "stdout", b"x")
    oldest = batch.oldest
    batch.add_output(1, "stderr", b"y")
    assert batch.oldest == oldest
    assert batch.due_in(oldest) == pytest.approx(MAX_AGE, abs=1e-9)
    assert batch.due_in(oldest + MAX_AGE / 2) == pytest.approx(MAX_AGE / 2, abs=1e-9)
    assert batch.due_in(oldest + 10 * MAX_AGE) == 0.0


def test_a_full_batch_is_due_at_once():
    batch = OutputBatch()
    batch.add_output(1, "stdout", b"x" * (MAX_CHARS - 1))
    assert batch.due_in(batch.oldest) == pytest.approx(MAX_AGE, abs=1e-9)
    batch.add_output(1, "stdout", b"x")
    assert batch.size == MAX_CHARS and batch.due_in(batch.oldest) == 0.0


def test_taking_a_batch_empties_it_and_the_next_item_starts_a_new_age():
    batch = OutputBatch()
    batch.add_output(1, "stdout", b"first")
    first_oldest = batch.oldest
    assert batch.take() == [OutputItem(1, "stdout", "first")]
    assert (batch.items, batch.size, batch.due_in(1e9)) == ([], 0, None)
    batch.add_output(1, "stdout", b"second")
    assert batch.items == [OutputItem(1, "stdout", "second")] and batch.size == 6
    assert batch.oldest >= first_oldest
