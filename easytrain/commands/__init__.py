"""The commands of `easytrain`, a module per group; cli.py assembles them into one app.

Nothing here imports torch at module level: each command imports what it runs when it runs.
"""
