"""What a search leaves behind: study.csv, best.yaml, tune.json, plots/ and a table on the console."""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from easytrain.config.sampled import apply_params, yaml_value
from easytrain.config.tune import TuneConfig
from easytrain.config.yamlpos import Positions
from easytrain.tune.study import decode

if TYPE_CHECKING:
    import optuna

TOP = 10  # trials shown in the console table
PLOTS = {
    "history.png": "plot_optimization_history",
    "importance.png": "plot_param_importances",
    "parallel_coordinate.png": "plot_parallel_coordinate",
}


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else yaml_value(value)


def short(value: Any) -> str:
    """A value for people: 4 significant digits for floats (study.csv keeps them all)."""
    return f"{value:.4g}" if isinstance(value, float) else _text(value)


def rows(study: optuna.Study, config: TuneConfig) -> list[dict[str, Any]]:
    """One dict per trial, in trial order: what study.csv and the table show."""
    found = []
    for t in study.get_trials(deepcopy=False):
        params = decode(t.params, config.space)
        duration = t.duration.total_seconds() if t.duration is not None else None
        epochs = t.user_attrs.get("epochs", len(t.intermediate_values) or None)
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "epochs": epochs,
            "duration_s": round(duration, 3) if duration is not None else None,
            "run_dir": t.user_attrs.get("run_dir", ""),
            "retry_of": t.system_attrs.get("failed_trial", ""),
            "error": t.user_attrs.get("error", ""),
        }
        found.append(row | {f"params.{key}": params.get(key) for key in config.space})
    return found


def write_csv(table: list[dict[str, Any]], path: Path) -> None:
    if not table:
        return
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(table[0]))
        writer.writeheader()
        for row in table:
            writer.writerow({key: _text(value) for key, value in row.items()})


def best_recipe(
    data: dict[str, Any], positions: Positions, params: dict[str, Any], header: str
) -> str:
    """The recipe as written (overrides applied) with the best values and without `tune:`:
    plain YAML that `easytrain run` takes as it is."""
    best, _ = apply_params(data, positions, params)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + yaml.safe_dump(best, sort_keys=False, allow_unicode=True, width=100)


def write_plots(study: optuna.Study, folder: Path, metric: str) -> tuple[list[str], list[str]]:
    """(written, skipped with the reason) — a plot needs finished trials to say anything."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis

    folder.mkdir(exist_ok=True)
    written, skipped = [], []
    for name, function in PLOTS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                axes = getattr(vis, function)(study, target_name=metric)
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
            figure.set_size_inches(max(figure.get_size_inches()[0], 8), 5)
            figure.tight_layout()
            figure.savefig(folder / name, dpi=100)
            plt.close(figure)
            written.append(name)
        except Exception as exc:  # e.g. importance with one finished trial
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            skipped.append(f"{name} ({reason})")
            plt.close("all")
    return written, skipped


def _sort_key(row: dict[str, Any], maximize: bool) -> tuple[int, float]:
    rank = {"complete": 0, "pruned": 1}.get(row["state"], 2)
    value = row["value"] if row["value"] is not None else float("inf")
    return rank, -value if maximize and row["value"] is not None else value


def _cells(row: dict[str, Any], keys: list[str]) -> list[str]:
    value = "" if row["value"] is None else f"{row['value']:.4f}"
    seconds = "" if row["duration_s"] is None else f"{row['duration_s']:.1f}"
    epochs = "" if row["epochs"] is None else str(row["epochs"])
    params = [short(row[f"params.{key}"]) for key in keys]
    return [str(row["number"]), row["state"], value, epochs, seconds, *params]


def show_table(
    table: list[dict[str, Any]], config: TuneConfig, maximize: bool, stream: TextIO | None = None
) -> None:
    """The best trials first: rich on a terminal, aligned plain text elsewhere (CI logs)."""
    stream = stream or sys.stderr
    keys = list(config.space)
    header = ["trial", "state", config.metric, "epochs", "seconds", *keys]
    shown = sorted(table, key=lambda row: _sort_key(row, maximize))[:TOP]
    body = [_cells(row, keys) for row in shown]
    title = (
        f"best {len(shown)} of {len(table)} trials" if len(table) > TOP else f"{len(table)} trials"
    )
    if not stream.isatty():
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        print(title, file=stream)
        for cells in [header, *body]:
            line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
            print(line.rstrip(), file=stream)
        stream.flush()
        return
    from rich.console import Console
    from rich.table import Table

    rich_table = Table(title=title, title_justify="left")
    for name in header:
        numeric = name in (config.metric, "epochs", "seconds", "trial")
        rich_table.add_column(name, justify="right" if numeric else "left")
    styles = {"complete": "", "pruned": "dim", "fail": "red"}
    for index, (row, cells) in enumerate(zip(shown, body, strict=True)):
        style = (
            "bold green"
            if index == 0 and row["state"] == "complete"
            else styles.get(row["state"], "")
        )
        rich_table.add_row(*cells, style=style)
    Console(file=stream).print(rich_table)


def write_all(
    study: optuna.Study,
    data: dict[str, Any],
    positions: Positions,
    config: TuneConfig,
    folder: Path,
    show: bool = True,
) -> dict[str, Any]:
    """study.csv, best.yaml, plots/ and summary.json (returned); the table when `show`."""
    from easytrain.pipeline.folders import write_json

    table = rows(study, config)
    write_csv(table, folder / "study.csv")
    states: dict[str, int] = {}
    for row in table:
        states[row["state"]] = states.get(row["state"], 0) + 1
    summary: dict[str, Any] = {
        "study": study.study_name,
        "metric": config.metric,
        "direction": study.direction.name.lower(),
        "trials": states,
        "best": None,
        "artifacts": {"study_csv": "study.csv", "trials": "trials/"},
    }
    if states.get("complete"):
        best = study.best_trial
        params = decode(best.params, config.space)
        header = (
            f"The best of {len(table)} trials in study {study.study_name}: trial {best.number}, "
            f"{config.metric} {best.value:.4f}.\nThe tuning recipe with that trial's values, "
            f"without tune:. Retrain it with\n\n    easytrain run {folder / 'best.yaml'}\n"
        )
        (folder / "best.yaml").write_text(best_recipe(data, positions, params, header))
        summary["best"] = {
            "number": best.number,
            "value": best.value,
            "params": params,
            "run_dir": best.user_attrs.get("run_dir"),
        }
        summary["artifacts"]["best_recipe"] = "best.yaml"
    if show and table:
        written, skipped = write_plots(study, folder / "plots", config.metric)
        summary["artifacts"]["plots"] = [f"plots/{name}" for name in written]
        show_table(table, config, study.direction.name == "MAXIMIZE")
        if skipped:
            print(f"plots skipped: {'; '.join(skipped)}", file=sys.stderr, flush=True)
    write_json(folder / "summary.json", summary)
    return summary
