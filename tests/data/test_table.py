"""table: formats, empty cells, categories and statistics from training rows only, and bad cells."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from easytrain.config.data import TableData
from easytrain.data.table import load
from easytrain.errors import RecipeError, RunFailed
from tests.data.makers import mixed_table

TRAIN = np.array([0, 1, 2, 3])


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Four training rows and two more; row 5 has a category and a label training never has."""
    return write(
        tmp_path,
        pd.DataFrame(
            {
                "size": [1.0, 3.0, None, 4.0, 1000.0, None],
                "colour": ["red", None, "blue", "red", "green", None],
                "label": ["a", "b", "a", "b", "a", "b"],
            }
        ),
    )


def encode(config: TableData, train=TRAIN):
    raw = load(config)
    return raw, raw.encode(train)


def test_fills_and_categories_come_from_training_rows(small: Path) -> None:
    raw, encoded = encode(TableData(path=small, target="label"))
    table = encoded.encoding["table"]
    assert table["numeric"] == {"size": {"fill": 3.0}}  # median of 1, 3, 4: never 1000
    assert table["categorical"]["colour"]["categories"] == ["<missing>", "blue", "red"]
    assert encoded.feature_names == [
        "size",
        "colour=<missing>",
        "colour=blue",
        "colour=red",
        "colour=<unknown>",
    ]
    assert encoded.x.dtype == np.float32
    assert encoded.x[2].tolist() == [3.0, 0, 1, 0, 0]  # filled with the training median
    assert encoded.x[4].tolist() == [1000.0, 0, 0, 0, 1]  # 'green': the unknown slot
    assert raw.classes == ["a", "b"] and raw.y.tolist() == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize(
    ("missing", "fill", "size_fill", "colour_fill"),
    [
        ("mean", None, 8 / 3, "<missing>"),
        ("most_frequent", None, 1.0, "red"),
        ("constant", -1, -1.0, "-1"),
    ],
)
def test_missing_strategies(small: Path, missing, fill, size_fill, colour_fill) -> None:
    _, encoded = encode(TableData(path=small, target="label", missing=missing, fill_value=fill))
    table = encoded.encoding["table"]
    assert table["numeric"]["size"]["fill"] == pytest.approx(size_fill)
    assert table["categorical"]["colour"]["fill"] == colour_fill


def test_drop_leaves_out_incomplete_rows_and_says_so(small: Path) -> None:
    raw = load(TableData(path=small, target="label", missing="drop"))
    assert len(raw.y) == 3
    assert any("3 row(s) with empty cells are left out" in note for note in raw.notes)
    assert raw.where(2) == f"{small}:6"  # the file's own line, though rows were dropped


def test_index_encoding_keeps_zero_for_unseen(small: Path) -> None:
    _, encoded = encode(TableData(path=small, target="label", categorical="index"))
    assert encoded.feature_names == ["size", "colour"]
    assert encoded.x[:, 1].tolist() == [3, 1, 2, 3, 0, 1]  # <missing>=1, blue=2, red=3, green=0


def test_mixed_table_with_booleans_reads_in_every_format(tmp_path: Path) -> None:
    results = []
    for name in ("mixed.csv", "mixed.parquet", "mixed.jsonl"):
        raw, encoded = encode(
            TableData(path=mixed_table(tmp_path / name, rows=60), target="label"), np.arange(40)
        )
        results.append(encoded.x)
        assert "member" in encoded.encoding["table"]["numeric"]  # true/false/empty → 1/0/fill
    assert np.allclose(results[0], results[1]) and np.allclose(results[0], results[2])


def test_rows_asked_for_come_encoded_in_that_order(tmp_path: Path) -> None:
    """The preprocess stage asks for train, val, test order, so the matrix is built only once."""
    raw = load(TableData(path=mixed_table(tmp_path / "mixed.csv", rows=60), target="label"))
    wanted = np.random.default_rng(0).permutation(60)
    everything = raw.encode(np.arange(40)).x
    assert np.array_equal(raw.encode(np.arange(40), wanted).x, everything[wanted])


def test_text_in_a_numeric_column_names_column_and_line(tmp_path: Path) -> None:
    ages = ["31", "42", "x7", *map(str, range(20, 40))]
    path = write(tmp_path, pd.DataFrame({"age": ages, "y": [0, 1] * 11 + [0]}))
    with pytest.raises(
        RunFailed, match=rf"{path}:4: column 'age' \(data.numeric_columns\) holds 'x7'"
    ):
        load(TableData(path=path, target="y", numeric_columns=["age"]))
    raw = load(TableData(path=path, target="y"))  # not listed: categories, with a warning
    assert any("'age' is read as categories because of 'x7'" in note for note in raw.notes)


def test_text_in_a_regression_target_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, pd.DataFrame({"x": range(5), "price": ["1.5", "2", "3", "n/a?", "4"]}))
    with pytest.raises(RunFailed, match=rf"{path}:5: the target column 'price' holds 'n/a\?'"):
        load(TableData(path=path, target="price", task="regression"))


def test_unknown_columns_are_recipe_errors_with_suggestions(small: Path) -> None:
    with pytest.raises(RecipeError) as caught:
        load(TableData(path=small, target="lable", features=["colour", "siz"]))
    message = str(caught.value)
    assert "no column 'lable' (data.target) (did you mean 'label'?)" in message
    assert "no column 'siz' (data.features) (did you mean 'size'?)" in message
    assert "the columns are: size, colour, label" in message


def test_the_target_cannot_be_a_feature(small: Path) -> None:
    with pytest.raises(RecipeError, match="data.features lists the target column 'label'"):
        load(TableData(path=small, target="label", features=["size", "label"]))


def test_a_target_with_one_value_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, pd.DataFrame({"x": [1, 2, 3], "y": ["same"] * 3}))
    with pytest.raises(RunFailed, match="has a single value"):
        load(TableData(path=path, target="y"))


def test_config_checks(small: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing: constant needs a fill_value"):
        TableData(path=small, target="label", missing="constant")
    (tmp_path / "data.xlsx").write_text("")
    with pytest.raises(ValueError, match="cannot tell the format from '.xlsx'"):
        TableData(path=tmp_path / "data.xlsx", target="y")
    with pytest.raises(RecipeError, match="fill_value 'none' is not a number"):
        load(TableData(path=small, target="label", missing="constant", fill_value="none"))


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = mixed_table(tmp_path / "mixed.parquet", rows=10)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with pytest.raises(RecipeError, match="reading Parquet needs pyarrow: pip install pyarrow"):
        load(TableData(path=path, target="label"))


def test_a_broken_file_is_a_run_failure(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"x": 1, "y": 0}\n{"x": 2, "y": \n')
    with pytest.raises(RunFailed, match="cannot read it as JSON Lines"):
        load(TableData(path=path, target="y"))
