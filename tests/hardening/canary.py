"""A module no recipe may import: importing it leaves a mark at $EASYTRAIN_CANARY."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("EASYTRAIN_CANARY"):
    Path(os.environ["EASYTRAIN_CANARY"]).touch()


class Boom:
    """What a recipe would name: tests.hardening.canary:Boom."""
