"""The `easytrain` command. Thin: parse, call, map exceptions to exit codes.

Nothing here imports torch at module level: --help, validate, schema and recipes answer at once.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from easytrain.errors import EasytrainError, ExitCode, GateFailed, Interrupted, RecipeError

app = typer.Typer(
    name="easytrain",
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


recipes_app = typer.Typer(help="The shipped recipe templates.", no_args_is_help=True)
app.add_typer(recipes_app, name="recipes")

RecipeArg = Annotated[Path, typer.Argument(help="The recipe YAML file.", show_default=False)]
OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Overrides: train.epochs=3 model.hidden=[128,64] ~train.scheduler", show_default=False
    ),
]


def _error(message: str) -> None:
    for line in message.splitlines() or [message]:
        print(f"error: {line}" if not line.startswith("  ") else line, file=sys.stderr)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Turn our exceptions into a message and the exit code docs/getting-started.md documents."""
    try:
        yield
    except EasytrainError as exc:
        if isinstance(exc, GateFailed):
            from easytrain.tracking.gatetable import show

            show(exc.gates)
        _error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        _error("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _import_beside(recipe: Path) -> None:
    """--allow-code: modules beside the recipe import without PYTHONPATH=. (appended, so that
    they shadow no installed package)."""
    folder = str(recipe.resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)


def _load(recipe: Path, overrides: list[str] | None, allow_code: bool = False):
    from easytrain.config.load import load_recipe

    if allow_code:
        _import_beside(recipe)

    return load_recipe(recipe, overrides or [], allow_code=allow_code)


@app.command()
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
    rdzv_id: Annotated[str | None, typer.Option(help="A name shared by the machines of a job.")] = None,
) -> None:
    """Run the whole pipeline: preprocess → model → train → evaluate → export."""
    with _exit_codes():
        loaded = _load(recipe, overrides, allow_code)
        if nproc_per_node and "LOCAL_RANK" not in os.environ and not dry_run:
            from easytrain.engine.launch import Launch, launch
            from easytrain.pipeline.run import RunOptions, open_run_dir

            opened = RunOptions(out=out, resume=resume)
            run_dir = open_run_dir(loaded, opened)  # a resume of nothing trained starts afresh
            worker = ["run", str(recipe), *(overrides or []), "--out", str(run_dir)]
            flags = (("--resume", opened.resume), ("--allow-code", allow_code))
            worker += [flag for flag, on in flags if on]
            worker += ["--device", device] if device else []
            code = launch(Launch(nproc_per_node, nnodes, node_rank, rdzv_endpoint, rdzv_id), worker)
            if as_json and (run_dir / "summary.json").exists():
                print((run_dir / "summary.json").read_text(), end="")
            raise typer.Exit(code)
        from easytrain.pipeline.plan import plan
        from easytrain.pipeline.run import RunOptions, open_run_dir, run_pipeline
        from easytrain.registry import default_registry
        from easytrain.tracking.console import make_reporter

        reporter = make_reporter()
        try:
            if dry_run:
                result = plan(loaded, default_registry(), reporter, device)
            else:
                options = RunOptions(out=out, resume=resume, device=device)
                run_dir = open_run_dir(loaded, options)
                try:
                    result = run_pipeline(loaded, run_dir, default_registry(), reporter, options)
                except Interrupted as exc:  # the hint names this recipe and its overrides
                    command = shlex.join(["easytrain", "run", str(recipe), *(overrides or [])])
                    raise Interrupted(str(exc).replace("easytrain run …", command)) from None
                except EasytrainError:
                    if as_json and (run_dir / "summary.json").exists():
                        print((run_dir / "summary.json").read_text(), end="")
                    raise
        finally:
            reporter.close()
        if result.get("gates"):
            from easytrain.tracking.gatetable import show

            show(result["gates"])
        if as_json:
            print(json.dumps(result, indent=2, default=str))


@app.command()
def validate(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    allow_code: Annotated[
        bool, typer.Option("--allow-code", help="Accept import paths in the recipe.")
    ] = False,
) -> None:
    """Check a recipe and print it with every default filled in. Imports no torch."""
    with _exit_codes():
        loaded = _load(recipe, overrides, allow_code)
        from easytrain.config.load import dump_recipe

        print(dump_recipe(loaded), end="")
        print(f"{recipe}: valid", file=sys.stderr)


@app.command()
def schema() -> None:
    """Print the JSON Schema of recipes (for editor autocompletion)."""
    with _exit_codes():
        from easytrain.config.schema import recipe_schema

        print(json.dumps(recipe_schema(), indent=2))


@recipes_app.command("list")
def recipes_list() -> None:
    """List the shipped recipes and what each does."""
    with _exit_codes():
        from easytrain.config.templates import describe, shipped

        for name, path in shipped().items():
            print(f"{name:<24} {describe(path)}")


@recipes_app.command("copy")
def recipes_copy(
    name: Annotated[str, typer.Argument(help="A name from `easytrain recipes list`.")],
    dest: Annotated[Path | None, typer.Argument(help="File or folder; default ./NAME.yaml")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    with_data: Annotated[
        bool,
        typer.Option("--with-data", help="Also write the recipe's sample data where it looks."),
    ] = False,
) -> None:
    """Copy a shipped recipe here to edit it."""
    with _exit_codes():
        from easytrain.config.samples import write_sample
        from easytrain.config.templates import adapted, find

        source = find(name)
        target = dest or Path(source.name)
        if target.is_dir():
            target = target / source.name
        if target.exists() and not force:
            raise RecipeError(f"{target} exists; pass --force to overwrite it")
        if with_data:
            print(write_sample(source, force), file=sys.stderr)
        target.write_text(adapted(source, target), encoding="utf-8")
        print(
            f"copied {source.name} → {target}; run it with: easytrain run {target}", file=sys.stderr
        )


@app.command()
def init(
    data: Annotated[
        Path,
        typer.Argument(
            help="A table (CSV, TSV, Parquet, JSON Lines), a text table or an image folder.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str | None, typer.Option(help="The column to predict (default: one named like a target).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the recipe (default ./NAME.yaml).")
    ] = None,
    run_now: Annotated[bool, typer.Option("--run", help="Run the recipe once written.")] = False,
    pretrained: Annotated[
        Path | None, typer.Option(help="Build on a saved pretrained model (model type hf).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing recipe.")] = False,
) -> None:
    """Write a commented recipe from the data: every choice a key, with the reason above it."""
    with _exit_codes():
        from easytrain.init.command import init_recipe

        path = init_recipe(data, target, out, pretrained, force)
    if run_now:
        run(path)


@app.command()
def explain(
    run_dir: Annotated[
        Path, typer.Argument(help="A run folder (runs/NAME/TIMESTAMP).", show_default=False)
    ],
    split: Annotated[str, typer.Option(help="The split to explain: test or val.")] = "test",
    n: Annotated[int, typer.Option("--n", min=1, help="Examples explained one by one.")] = 8,
    repeats: Annotated[
        int, typer.Option(min=1, help="Tables: shuffles per column for permutation importance.")
    ] = 5,
    allow_code: Annotated[
        bool, typer.Option("--allow-code", help="The run's recipe imports Python code.")
    ] = False,
) -> None:
    """Why the model decides so: writes RUN_DIR/explain/ (importance, attributions) and report.html."""
    with _exit_codes():
        if split not in ("test", "val"):
            raise RecipeError(f"--split: expected test or val, got '{split}'")
        from easytrain.explain.command import explain_run

        explain_run(run_dir, split, n, repeats, allow_code)


def main() -> None:
    try:
        app()
    except SystemExit as exit:
        if "TORCHELASTIC_RUN_ID" in os.environ:  # one of several training processes
            _leave_now(exit.code)
        raise


def _leave_now(code: object) -> None:
    """Exit without the interpreter's teardown. In a process of a distributed run, gloo's worker
    threads can still hold finished work when Python finalizes, and tearing them down then
    aborts the process (SIGABRT, "terminate called without an active exception") after a run
    that succeeded. Every file of the run is written and closed by now; only stdio is flushed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


cache_app = typer.Typer(help="The cache of decoded images.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def cache_clear(
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="The cache folder; default $EASYTRAIN_CACHE or .easytrain-cache/."
        ),
    ] = None,
) -> None:
    """Remove every cached entry (only easytrain's files; the folder stays)."""
    with _exit_codes():
        from easytrain.data import cache

        where = cache.cache_dir(folder)
        count, size = cache.clear(where)
        print(f"removed {count} cached file(s), {size / 1e6:.1f} MB, from {where}", file=sys.stderr)


RunDirArg = Annotated[
    Path, typer.Argument(help="A run folder (runs/NAME/TIMESTAMP).", show_default=False)
]


@app.command()
def evaluate(
    run_dir: RunDirArg,
    split: Annotated[str, typer.Option(help="The split to evaluate: test or val.")] = "test",
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            help="Override the data section for new data of the same shape: --data path=new.csv",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the evaluation as JSON to stdout.")
    ] = False,
) -> None:
    """Re-evaluate a finished run's best checkpoint; exits 3 when a gate fails."""
    with _exit_codes():
        if split not in ("test", "val"):
            raise RecipeError(f"--split: expected test or val, got '{split}'")
        from easytrain.pipeline.reevaluate import reevaluate
        from easytrain.registry import default_registry
        from easytrain.tracking.console import make_reporter

        reporter = make_reporter()
        try:
            result = reevaluate(run_dir, split, data or [], default_registry(), reporter)
        finally:
            reporter.close()
        if result["gates"]:
            from easytrain.tracking.gatetable import show

            show(result["gates"])
        if as_json:
            print(json.dumps(result, indent=2, default=str))


@app.command()
def report(run_dir: RunDirArg) -> None:
    """Write RUN_DIR/report.html: recipe, data, model, curves, metrics and gates on one page."""
    with _exit_codes():
        from easytrain.tracking.report import write_report

        path = write_report(run_dir)
        print(f"report → {path}", file=sys.stderr)


AllowCodeOpt = Annotated[
    bool,
    typer.Option(
        "--allow-code", help="The run's recipe imports Python code (type: package.module:Class)."
    ),
]


@app.command()
def export(
    run_dir: RunDirArg,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="pt2, onnx, torchscript or state_dict; repeat for several. Default: the recipe's export.formats, or pt2.",
        ),
    ] = None,
    opset: Annotated[int | None, typer.Option(help="onnx: the ONNX opset (default 18).")] = None,
    allow_code: AllowCodeOpt = False,
) -> None:
    """Export a finished run's best checkpoint to RUN_DIR/export/, each format checked on real inputs."""
    with _exit_codes():
        from easytrain.deploy.exporting import export_run

        export_run(run_dir, formats or [], opset, allow_code)


@app.command()
def predict(
    run_dir: RunDirArg,
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Image files or folders, table files (CSV, TSV, Parquet, JSON Lines) or text files.",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        list[str] | None, typer.Option("--text", help="A text to classify; repeat for several.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write a .csv, .json or .jsonl file; default: JSON lines to stdout."),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Run an export (pt2, onnx, torchscript, state_dict) instead of the checkpoint.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Inputs per forward pass.")] = 256,
    allow_code: AllowCodeOpt = False,
) -> None:
    """Predict raw inputs with a finished run, prepared the way the run prepared its data."""
    with _exit_codes():
        from easytrain.deploy.predict import predict_run

        predict_run(run_dir, inputs or [], text or [], out, format, batch_size, allow_code)


@app.command()
def serve(
    run_dir: RunDirArg,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    format: Annotated[
        str | None,
        typer.Option("--format", help="Serve an export (pt2, onnx …) instead of the checkpoint."),
    ] = None,
    max_request_mb: Annotated[
        float, typer.Option(help="Larger request bodies are refused with 413.")
    ] = 16.0,
    allow_code: AllowCodeOpt = False,
) -> None:
    """Serve a finished run over HTTP: POST /predict, GET /health, GET /metadata, /docs."""
    with _exit_codes():
        from easytrain.deploy.serve import serve_run

        serve_run(run_dir, host, port, format, int(max_request_mb * 1_000_000), allow_code)


@app.command()
def tune(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    trials: Annotated[
        int | None,
        typer.Option(
            min=1, help="Trials in the study, all workers together (default: tune.trials)."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=1, help="Seconds after which no new trial starts (default: tune.timeout)."
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Where the study lives: default sqlite:///<tune folder>/study.db; "
            "postgresql://user:pass@host/db shares it across machines."
        ),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option(help="The study's name in the storage (default: the recipe's name)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes on this machine sharing the study.")
    ] = 1,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the study in --out (or the recipe's latest tune folder)."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write the tune folder exactly here.")] = None,
    allow_code: AllowCodeOpt = False,
    worker: Annotated[int | None, typer.Option(hidden=True)] = None,
    worker_trials: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Search hyper-parameters over the recipe's tune: section (Optuna); each trial is a real run.

    Leaves study.csv, best.yaml (for `easytrain run`), plots/ and trials/ in runs/NAME/tune-TIME.
    """
    with _exit_codes():
        from easytrain.tune.command import TuneOptions, tune_recipe

        if allow_code:
            _import_beside(recipe)

        options = TuneOptions(recipe, overrides or [], trials=trials, timeout=timeout)
        options.storage, options.study, options.workers = storage, study, workers
        options.resume, options.out, options.allow_code = resume, out, allow_code
        options.worker, options.worker_trials = worker, worker_trials
        tune_recipe(options)
