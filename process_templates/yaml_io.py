"""Templates in YAML, written by hand: read safely (no tags, no aliases, a size limit, dates
kept as text for the models to read with their time zone), written in the fields' order."""

from __future__ import annotations

from typing import Any

import yaml

from domain.templates import MAX_DOCUMENT_BYTES, Problem, Template, TemplateInvalid


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, without aliases (a few lines of them expand to gigabytes) and
    without its implicit timestamps (a wait step's date is read by the models, time zone
    included)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise TemplateInvalid(
                [
                    Problem(
                        "yaml_alias",
                        f"line {event.start_mark.line + 1}: aliases (*name) are not accepted "
                        "in a template; write the value out",
                        params={"line": event.start_mark.line + 1},
                    )
                ]
            )
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def too_large(size: int) -> TemplateInvalid:
    return TemplateInvalid(
        [
            Problem(
                "document_too_large",
                f"a template weighs at most {MAX_DOCUMENT_BYTES // 1024} KiB; this one "
                f"weighs {size // 1024 + 1} KiB",
                params={"limit": MAX_DOCUMENT_BYTES // 1024},
            )
        ]
    )


def read(text: str | bytes) -> Any:
    """The document a YAML text holds (not yet a template: `domain.templates.parse` says)."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise too_large(len(raw))
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TemplateInvalid(
            [Problem("not_utf8", "the file is not UTF-8 text; save it as UTF-8")]
        ) from None
    try:
        return yaml.load(decoded, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise TemplateInvalid(
            [
                Problem(
                    "yaml_unreadable",
                    f"line {line}: {e.problem or e.context or 'not YAML'}",
                    params={"line": line},
                )
            ]
        ) from None
    except yaml.YAMLError as e:
        raise TemplateInvalid([Problem("yaml_unreadable", str(e))]) from None
    except RecursionError:
        raise too_deep() from None


def too_deep() -> TemplateInvalid:
    # Thousands of nested brackets in a few KiB: no template is shaped so.
    return TemplateInvalid([Problem("too_deep", "the document nests too deeply to be a template")])


def written(template: Template) -> str:
    """The template as a YAML file people read and edit (defaults left out)."""
    data = template.model_dump(mode="json", exclude_defaults=True)
    # The id, version and name are defaults of no field, but the version 1 is: say it.
    data = {"id": template.id, "version": template.version, **data}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
