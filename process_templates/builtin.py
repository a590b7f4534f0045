"""The built-in templates, shipped with the package (process_templates/builtin/*.yaml): read
once, checked like any template. `co-construction` version 1 is the lifecycle every 1.x
project ran, and stays the default of every 1.x launch that names no template."""

from __future__ import annotations

from functools import cache
from importlib import resources

from domain.templates import LaunchedTemplate, Template, digest, parse
from process_templates.yaml_io import read


@cache
def builtin_templates() -> dict[tuple[str, int], Template]:
    found = {}
    for entry in sorted(resources.files(__package__).joinpath("builtin").iterdir(), key=str):
        if entry.name.endswith(".yaml"):
            template = parse(read(entry.read_bytes()))
            found[(template.id, template.version)] = template
    return found


def builtin(template_id: str, version: int | None = None) -> Template | None:
    """A built-in template's version (None: its latest), or None when there is none."""
    versions = sorted(v for (tid, v) in builtin_templates() if tid == template_id)
    if not versions:
        return None
    wanted = versions[-1] if version is None else version
    return builtin_templates().get((template_id, wanted))


def builtin_ids() -> list[str]:
    return list(dict.fromkeys(tid for tid, _ in builtin_templates()))


def launched(template: Template) -> LaunchedTemplate:
    return LaunchedTemplate(
        id=template.id, version=template.version, digest=digest(template), content=template
    )
