"""`easytrain cache clear`: the cache of decoded images and tokenized chats."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from easytrain.commands.common import exit_codes


def cache_clear(
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="The cache folder; default $EASYTRAIN_CACHE or .easytrain-cache/."
        ),
    ] = None,
) -> None:
    """Remove every cached entry (only easytrain's files; the folder stays)."""
    with exit_codes():
        from easytrain.data import cache

        where = cache.cache_dir(folder)
        count, size = cache.clear(where)
        print(f"removed {count} cached file(s), {size / 1e6:.1f} MB, from {where}", file=sys.stderr)
