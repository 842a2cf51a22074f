"""What last.pt holds of the loop's state: the history as JSON text, every number exactly."""

from __future__ import annotations

import json
import math

from easytrain.engine.state import LoopState, _as_dict


def test_the_history_is_saved_exactly_as_it_grows() -> None:
    state = LoopState()
    rows = [
        {"epoch": 1, "train_loss": 0.1 + 0.2, "val_loss": math.nan},
        {"epoch": 2, "train_loss": 5e-324, "val_loss": math.inf},
        {"epoch": 3, "train_loss": 1 / 3, "val_loss": -0.0},
    ]
    for row in rows:  # a checkpoint after each epoch, rows encoded once each
        state.history.append(row)
        saved = _as_dict(state)
        assert saved["history"] == json.dumps(state.history)
    loaded = json.loads(saved["history"])
    assert [r["train_loss"] for r in loaded] == [r["train_loss"] for r in rows]
    assert math.isnan(loaded[0]["val_loss"]) and loaded[1]["val_loss"] == math.inf
    assert math.copysign(1, loaded[2]["val_loss"]) == -1 and isinstance(loaded[0]["epoch"], int)
    assert "encoded_rows" not in saved
