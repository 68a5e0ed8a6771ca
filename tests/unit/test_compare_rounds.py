"""`--compare`'s arithmetic: a figure's ratio is the median of its per-round pairs, its verdict needs
a spread that stays on one side of 1.0, and a figure one side lacks is reported missing, saying why."""
from __future__ import annotations

from benchmarks.compare import Measured, SideRun, compare_rounds, format_comparison


def rounds(work: list[float | None], ref: list[float | None], unit: str = "µs", name: str = "RTT") -> list:
    return [{"work": SideRun({name: Measured(w, unit, "" if w else "it broke")}),
             "ref": SideRun({name: Measured(r, unit, "" if r else "no such API")})} for w, r in zip(work, ref)]


def test_the_ratio_is_the_median_of_the_pairs_not_the_ratio_of_the_medians():
    [rtt] = compare_rounds(rounds([100, 300, 200], [50, 300, 400]))
    assert (rtt.work, rtt.ref) == (200, 300)
    assert (rtt.ratio, rtt.low, rtt.high, rtt.pairs) == (1.0, 0.5, 2.0, 3)


def test_pairs_whose_range_spans_one_give_no_result():
    [rtt] = compare_rounds(rounds([90, 110, 100], [100, 100, 100]))
    assert rtt.verdict == "no result: the pair ratios span 1.0"


def test_a_lower_round_trip_in_every_pair_is_better_and_a_lower_throughput_worse():
    [rtt] = compare_rounds(rounds([90, 80, 95], [100, 100, 100]))
    [throughput] = compare_rounds(rounds([90, 80, 95], [100, 100, 100], unit="cmd/s"))
    assert (rtt.better, rtt.verdict) == ("lower", "better")
    assert (throughput.better, throughput.verdict) == ("higher", "WORSE")


def test_fewer_than_three_pairs_give_a_ratio_but_no_verdict():
    [rtt] = compare_rounds(rounds([50, 60], [100, 100]))
    assert rtt.ratio == 0.55 and rtt.verdict == "no verdict from 2 pair(s)"


def test_a_figure_ref_could_not_measure_is_missing_for_ref_saying_why():
    [rtt] = compare_rounds(rounds([100, 110, 120], [None, None, None]))
    assert (rtt.work, rtt.ref, rtt.ratio, rtt.pairs) == (110, None, None, 0)
    assert rtt.verdict == "missing for REF: no such API"


def test_a_figure_absent_from_refs_output_or_a_failed_run_is_missing_for_ref():
    measured = [{"work": SideRun({"new figure": Measured(5.0, "ms")}), "ref": SideRun({})},
                {"work": SideRun({"new figure": Measured(6.0, "ms")}), "ref": SideRun({}, "exit 1")}]
    [figure] = compare_rounds(measured)
    assert figure.verdict == "missing for REF: exit 1"
    assert compare_rounds(measured[:1])[0].verdict == "missing for REF: not in its output"


def test_rounds_where_one_side_failed_leave_the_others_pairs():
    [rtt] = compare_rounds(rounds([100, 100, 100, 100], [50, None, 50, 50]))
    assert (rtt.ratio, rtt.pairs, rtt.rounds) == (2.0, 3, 4)


def test_the_table_names_ref_and_gives_the_spread_and_the_pair_count():
    table = format_comparison(compare_rounds(rounds([90, 80, 95], [100, 100, 100])), "3266c1a")
    header, _, row = table.splitlines()
    assert "3266c1a" in header and "pair ratios min–max" in header
    assert row.split() == ["RTT", "µs", "lower", "90", "100", "0.900", "0.80–0.95", "3/3", "better"]
