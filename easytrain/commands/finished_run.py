"""Commands on a finished run folder: evaluate, report, export, predict, serve, explain."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from easytrain.commands.common import AllowCodeOpt, RunDirArg, exit_codes, print_gates
from easytrain.errors import RecipeError


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
    with exit_codes():
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
        print_gates(result)
        if as_json:
            print(json.dumps(result, indent=2, default=str))


def report(run_dir: RunDirArg) -> None:
    """Write RUN_DIR/report.html: recipe, data, model, curves, metrics and gates on one page."""
    with exit_codes():
        from easytrain.tracking.report import write_report

        path = write_report(run_dir)
        print(f"report → {path}", file=sys.stderr)


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
    with exit_codes():
        from easytrain.deploy.exporting import export_run

        export_run(run_dir, formats or [], opset, allow_code)


def predict(
    run_dir: RunDirArg,
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Image files or folders, table files (CSV, TSV, Parquet, JSON Lines) or text "
            "files; for a text model, an argument that is no file is a text to classify.",
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
    with exit_codes():
        from easytrain.deploy.predict import predict_run

        predict_run(run_dir, inputs or [], text or [], out, format, batch_size, allow_code)


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
    with exit_codes():
        from easytrain.deploy.serve import serve_run

        serve_run(run_dir, host, port, format, int(max_request_mb * 1_000_000), allow_code)


def explain(
    run_dir: RunDirArg,
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
    with exit_codes():
        if split not in ("test", "val"):
            raise RecipeError(f"--split: expected test or val, got '{split}'")
        from easytrain.explain.command import explain_run

        explain_run(run_dir, split, n, repeats, allow_code)
