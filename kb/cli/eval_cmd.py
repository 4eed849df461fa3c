"""`kb eval`: run the golden set and the external benchmarks, write a report, compare runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import err, fail_cleanly, print_json


def eval_command(
    suite: Annotated[str, typer.Option("--suite", help="golden, medquad, covidqa, checker or all.")] = "golden",
    mode: Annotated[str, typer.Option("--mode", help="Answer mode: extractive or generative.")] = "extractive",
    compare: Annotated[str | None, typer.Option("--compare", help="An earlier run id (or folder) to diff against.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Questions per suite; 0 = all (MedQuAD default: 400 sampled of 2,231 dev).")] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", help="Where runs are written (default evals/runs).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run's metrics as JSON.")] = False,
) -> None:
    """Run evals and write evals/runs/<id>/ (metrics.json, questions.jsonl, report.md, report.html).

    Exit 0: done and the golden gate (if run) passed; 1: a gate threshold failed; 2: usage error.
    """
    import json

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evals import runner

    suites = list(runner.SUITES) if suite == "all" else [suite]
    if any(s not in runner.SUITES for s in suites):
        err(f"unknown suite {suite!r}; choose golden, medquad, covidqa, checker or all")
        raise typer.Exit(2)
    if mode not in ("extractive", "generative"):
        err(f"unknown mode {mode!r}; choose extractive or generative")
        raise typer.Exit(2)
    runs = runs_dir
    if compare:
        try:
            runner.resolve_run(compare, runs)
        except FileNotFoundError as exc:
            err(str(exc))
            raise typer.Exit(2) from None
    with fail_cleanly(), Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}", style="dim"), console=Console(stderr=True), transient=json_out,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, detail="")
            bar.update(tasks[stage], completed=done, total=total, detail=str(detail)[:40])

        out = runner.run(suites, mode=mode, limit=limit, compare=compare, progress=progress, runs=runs)
    result = json.loads((out / "metrics.json").read_text())
    gate = result["suites"].get("golden", {}).get("gate", [])
    failed = [g for g in gate if not g["ok"]]
    if json_out:
        print_json(result | {"path": str(out)})
    else:
        typer.echo((out / "report.md").read_text())
        typer.echo(f"report: {out / 'report.html'}")
        for g in failed:
            err(f"gate: {g['metric']} = {g['value']} is {'above' if g['kind'] == 'max' else 'below'} {g['threshold']}")
    raise typer.Exit(1 if failed else 0)
