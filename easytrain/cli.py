"""The `easytrain` command. Thin: the app, its commands in the order --help lists them, and the
process exit. The commands live in easytrain/commands/ (parse, call, map exceptions to exit
codes); nothing imported here imports torch, so --help, validate, schema and recipes answer at
once."""

import contextlib
import os
import sys
from typing import Annotated

import typer

from easytrain.commands import cache, finished_run, generate, recipes, tune
from easytrain.commands import run as run_command
from easytrain.commands.help import HelpGroup, light_help

app = typer.Typer(
    name="easytrain",
    cls=HelpGroup,
    help="Train, evaluate and export a PyTorch model from one YAML recipe.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion: typer's own, for bash, zsh, fish, PowerShell
)


def _version(show: bool) -> None:
    if show:
        from easytrain.config.templates import version

        print(f"easytrain {version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Train, evaluate and export a PyTorch model from one YAML recipe."""


run = app.command()(run_command.run)
app.command()(recipes.validate)
app.command()(recipes.schema)
app.command()(recipes.init)
app.command()(finished_run.explain)
app.command()(finished_run.evaluate)
app.command()(finished_run.report)
app.command()(finished_run.export)
app.command()(finished_run.predict)
app.command()(finished_run.serve)
app.command()(generate.generate)
app.command()(tune.tune)

recipes_app = typer.Typer(cls=HelpGroup, help="The shipped recipe templates.", no_args_is_help=True)
recipes_app.command("list")(recipes.recipes_list)
recipes_app.command("copy")(recipes.recipes_copy)
app.add_typer(recipes_app, name="recipes")

cache_app = typer.Typer(
    cls=HelpGroup, help="The cache of decoded images and tokenized chats.", no_args_is_help=True
)
cache_app.command("clear")(cache.cache_clear)
app.add_typer(cache_app, name="cache")
light_help(app)  # after every command is registered


def main() -> None:
    try:
        app()
    except SystemExit as exit:
        if "TORCHELASTIC_RUN_ID" in os.environ:  # one of several training processes
            _leave_now(exit.code)
        if "torch" in sys.modules:  # a command that trained or loaded a model
            _leave_after_exit_handlers(exit.code)
        raise


def _leave_after_exit_handlers(code: object) -> None:
    """What Python does at exit (wait for the threads that are not daemons, run the atexit
    handlers), then exit without the teardown of every module: with torch, scikit-learn and
    matplotlib loaded, that teardown alone took 1-2 s of CPU after a run had finished."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    _leave_now(code)


def _leave_now(code: object) -> None:
    """Exit without the interpreter's teardown. In a process of a distributed run, gloo's worker
    threads can still hold finished work when Python finalizes, and tearing them down then
    aborts the process (SIGABRT, "terminate called without an active exception") after a run
    that succeeded. Every file of the run is written and closed by now; only stdio is flushed."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left (`| head`)
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
