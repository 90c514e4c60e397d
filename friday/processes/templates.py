"""The starter processes offered on a new install: a customer lifecycle, a sales pipeline, a job workflow."""

from __future__ import annotations

from pathlib import Path

from friday.processes.definition import ProcessDefinition, load

FOLDER = Path(__file__).resolve().parent / "templates_yaml"
STARTERS = ("lifecycle", "sales", "jobs")


def starter_text(name: str) -> str:
    if name not in STARTERS:
        raise KeyError(f"No starter process called {name!r}; there are {', '.join(STARTERS)}.")
    return (FOLDER / f"{name}.yaml").read_text(encoding="utf-8")


def starter(name: str) -> ProcessDefinition:
    return load(starter_text(name))
