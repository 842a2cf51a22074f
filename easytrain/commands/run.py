"""`easytrain run`: the whole pipeline in this process, over several (DDP), or as a dry-run plan."""

import json
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from easytrain.commands.common import OverridesArg, RecipeArg, exit_codes, load, print_gates
from easytrain.errors import EasytrainError, Interrupted

if TYPE_CHECKING:
    from easytrain.config.recipe import Recipe
    from easytrain.engine.launch import Launch


def run(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    out: Annotated[Path | None, typer.Option(help="Write the run folder exactly here.")] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue the run in --out (or the recipe's latest run)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read the data and build the model; train nothing.")
    ] = False,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu, cuda, cuda:N or mps (overrides the recipe).")
    ] = None,
    allow_code: Annotated[
        bool,
        typer.Option(
            "--allow-code", help="Let the recipe import Python code (type: package.module:Class)."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print summary.json to stdout at the end.")
    ] = False,
    nproc_per_node: Annotated[
        int | None, typer.Option(help="Train with N processes on this machine (DDP).", min=1)
    ] = None,
    nnodes: Annotated[str, typer.Option(help="Machines taking part (torchrun's --nnodes).")] = "1",
    node_rank: Annotated[int, typer.Option(help="This machine's number, 0 … nnodes-1.")] = 0,
    rdzv_endpoint: Annotated[
        str | None, typer.Option(help="HOST:PORT where the machines meet (multi-node).")
    ] = None,
    rdzv_id: Annotated[
        str | None, typer.Option(help="A name shared by the machines of a job.")
    ] = None,
) -> None:
    """Run the whole pipeline: preprocess → model → train → evaluate → export."""
    with exit_codes():
        loaded = load(recipe, overrides, allow_code)
        if nproc_per_node and "LOCAL_RANK" not in os.environ and not dry_run:
            from easytrain.engine.launch import Launch

            processes = Launch(nproc_per_node, nnodes, node_rank, rdzv_endpoint, rdzv_id)
            argv = ["run", str(recipe), *(overrides or [])]
            flags = ["--allow-code"] if allow_code else []
            flags += ["--device", device] if device else []
            raise typer.Exit(_launch(loaded, processes, argv, flags, out, resume, as_json))
        command = shlex.join(["easytrain", "run", str(recipe), *(overrides or [])])
        result = _run_here(loaded, out, resume, dry_run, device, as_json, command)
        print_gates(result)
        if as_json:
            print(json.dumps(result, indent=2, default=str))


def _launch(
    loaded: "Recipe",
    processes: "Launch",
    command: list[str],
    flags: list[str],
    out: Path | None,
    resume: bool,
    as_json: bool,
) -> int:
    """--nproc-per-node N: the run folder opened here, then N worker processes train in it."""
    from easytrain.engine.launch import launch
    from easytrain.pipeline.run import RunOptions, open_run_dir

    opened = RunOptions(out=out, resume=resume)
    run_dir = open_run_dir(loaded, opened)  # a resume of nothing trained starts afresh
    resuming = ["--resume"] if opened.resume else []
    code = launch(processes, [*command, "--out", str(run_dir), *resuming, *flags])
    if as_json and (run_dir / "summary.json").exists():
        print((run_dir / "summary.json").read_text(), end="")
    return code


def _run_here(
    loaded: "Recipe",
    out: Path | None,
    resume: bool,
    dry_run: bool,
    device: str | None,
    as_json: bool,
    command: str,
) -> dict[str, Any]:
    """The pipeline (or the --dry-run plan) in this process; its summary."""
    from easytrain.pipeline.plan import plan
    from easytrain.pipeline.run import RunOptions, open_run_dir, run_pipeline
    from easytrain.registry import default_registry
    from easytrain.tracking.console import make_reporter

    reporter = make_reporter()
    try:
        if dry_run:
            return plan(loaded, default_registry(), reporter, device)
        options = RunOptions(out=out, resume=resume, device=device)
        run_dir = open_run_dir(loaded, options)
        try:
            return run_pipeline(loaded, run_dir, default_registry(), reporter, options)
        except Interrupted as exc:  # the hint names this recipe and its overrides
            raise Interrupted(str(exc).replace("easytrain run …", command)) from None
        except EasytrainError:
            if as_json and (run_dir / "summary.json").exists():
                print((run_dir / "summary.json").read_text(), end="")
            raise
    finally:
        reporter.close()
