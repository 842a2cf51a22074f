"""The commands of `easytrain`, a module per group; cli.py assembles them into one app.

Nothing here imports torch at module level: each command imports what it runs when it runs.
The command modules do without `from __future__ import annotations`: typer reads every
command's parameters on each start, and annotations left as strings are compiled and evaluated
each time (half of building the command tree); evaluated once at import they cost a fraction.
"""
