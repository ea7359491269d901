"""The one Section type and its converters (label JSON, compare JSON, truth CSV, matches row)."""

import dataclasses
import json

import numpy as np
import pytest

from musim_spark.errors import ParameterError
from musim_spark.sections import (INTERFACE_KEYS, LABEL_KEYS, ROW_KEYS, TRUTH_KEYS, Section, parse_truth_json,
                                  truth_json)

S = Section(start_ms=1200, duration_ms=3400, other_start_ms=5600, other_duration_ms=7800)


def test_each_format_spells_the_four_fields_in_its_own_keys():
    assert S.to_label() == {"startMilliSec": 1200, "durationMilliSec": 3400}
    assert S.to_interface() == {"startMilliSec": 1200, "durationMilliSec": 3400,
                                "otherStartMilliSec": 5600, "otherDurationMilliSec": 7800}
    assert S.to_truth() == {"startMilliSec": 1200, "durationMilliSec": 3400,
                            "originalStartMilliSec": 5600, "originalDurationMilliSec": 7800}
    assert S.to_row() == {"query_start_ms": 1200, "query_duration_ms": 3400,
                          "original_start_ms": 5600, "original_duration_ms": 7800}
    # key order is part of the byte-identical outputs (label files, truth CSV, compare JSON)
    assert tuple(S.to_label()) == LABEL_KEYS and tuple(S.to_interface()) == INTERFACE_KEYS
    assert tuple(S.to_truth()) == TRUTH_KEYS and tuple(S.to_row()) == ROW_KEYS
    assert (S.end_ms, S.other_end_ms) == (4600, 13400)


def test_round_trips():
    assert Section.from_interface(S.to_interface()) == S
    assert Section.from_truth(S.to_truth()) == S
    assert Section.from_row(S.to_row()) == S
    assert parse_truth_json(truth_json([S, S])) == (S, S)
    assert parse_truth_json("") == () and truth_json([]) == "[]"


def test_truth_cell_is_the_generators_compact_json():
    text = truth_json([S])
    assert text == json.dumps([S.to_truth()], separators=(",", ":"))
    assert " " not in text


def test_row_keys_are_the_matches_tables_struct_of_the_interface():
    # The contract users script against names the struct's fields (shared/spec/interface.md).
    import re
    from pathlib import Path

    from musim_spark.io.tables import SECTION_TYPE

    spec = (Path(__file__).resolve().parents[2] / "shared" / "spec" / "interface.md").read_text()
    named = re.search(r"arrays of structs (.*?)\)", spec, re.S).group(1)
    assert tuple(re.findall(r"`(\w+)`", named)) == ROW_KEYS
    assert tuple(SECTION_TYPE[i].name for i in range(SECTION_TYPE.num_fields)) == ROW_KEYS
    assert all(SECTION_TYPE[i].type == "int64" for i in range(SECTION_TYPE.num_fields))


def test_numpy_integers_become_ints_and_floats_are_refused():
    s = Section(np.int64(1), np.int32(2), np.int64(3), np.int64(4))
    assert all(type(v) is int for v in s.to_row().values())
    json.dumps(s.to_interface())  # numpy ints would not serialise
    with pytest.raises(ParameterError, match="duration_ms"):
        Section(0, 1.5, 0, 1)
    with pytest.raises(ParameterError, match="lacks originalDurationMilliSec"):
        Section.from_truth({"startMilliSec": 0, "durationMilliSec": 1, "originalStartMilliSec": 0})
    with pytest.raises(ParameterError):
        Section.from_row([0, 1, 2, 3])
    with pytest.raises(ParameterError):
        parse_truth_json("{not json")
    with pytest.raises(ParameterError):
        parse_truth_json('{"startMilliSec": 0}')


def test_sections_are_hashable_and_frozen():
    assert len({S, Section(1200, 3400, 5600, 7800)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        S.start_ms = 0
