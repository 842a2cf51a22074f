"""The typed preprocessing entry keeps preprocessing.json's format: what a run folder holds
reads back and writes out unchanged, old folders included."""

from __future__ import annotations

import torch

from easytrain.data.bundle import DataBundle, Split
from easytrain.data.preprocessing import Preprocessing

TABLE = {
    "input_shape": [5],
    "encoding": {"table": {"numeric": ["a", "b"], "categorical": {"c": {"categories": ["x"]}}}},
    "normalize": {"mean": [0.5] * 5, "std": [1.5] * 5, "per": "feature"},
    "target": {"mean": 3.25, "std": 2.0},
}
IMAGES = {  # entries the class does not name are kept as written
    "input_shape": [1, 8, 8],
    "encoding": {},
    "rescale": True,
    "size": [8, 8],
    "channels": 1,
    "normalize": None,
}


def test_a_saved_entry_reads_back_and_writes_out_unchanged() -> None:
    for saved in (TABLE, IMAGES):
        assert Preprocessing.model_validate(saved).as_json() == saved
    table = Preprocessing.model_validate(TABLE)
    assert table.target is not None and (table.target.mean, table.target.std) == (3.25, 2.0)
    assert table.encoded("table")["numeric"] == ["a", "b"] and table.encoded("text") == {}
    assert Preprocessing.model_validate(IMAGES).target is None


def test_new_data_takes_the_runs_scale() -> None:
    own = Preprocessing.model_validate({**TABLE, "normalize": {"mean": [0.0], "std": [1.0]}})
    merged = own.merged({"normalize": TABLE["normalize"], "target": {"mean": 1.0, "std": 4.0}})
    assert merged.normalize == TABLE["normalize"] and merged.target is not None
    assert merged.target.std == 4.0 and merged.encoding == TABLE["encoding"]


def test_a_bundle_given_the_json_form_holds_the_typed_one() -> None:
    split = Split(torch.zeros(2, 5), torch.zeros(2))
    bundle = DataBundle(split, None, None, "regression", (5,), preprocessing=TABLE)
    assert isinstance(bundle.preprocessing, Preprocessing)
    assert bundle.preprocessing.as_json() == TABLE
