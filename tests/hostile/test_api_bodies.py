"""Every JSON body the API takes (from its own OpenAPI), sent hostile: bytes that are not
UTF-8, JSON nested a hundred thousand deep, a body over the limit, wrong types, and a valid
body (built from its schema) with any text in its text fields (hypothesis). The answer is a
clear 4xx in JSON (a code and a message a person can act on) or the text stored as data,
cleaned as every text is (controls dropped, trimmed) and otherwise as typed; never a 5xx."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.fields import clean_text
from tests.api_helpers import ApiProject
from tests.hostile.conftest import EVERYTHING, PRINTABLE, TRIED, hostile_text


def bodies(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, body schema) for each operation that takes a JSON body."""
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path, content["application/json"]["schema"]))
    return found


def example_of(schema: dict[str, Any], body_spec: dict[str, Any], text: str) -> dict[str, Any]:
    """Every string property of the body set to `text` (nested models left out)."""
    model = _resolved(schema, body_spec)
    body: dict[str, Any] = {}
    for field, spec in model.get("properties", {}).items():
        kinds = [spec.get("type")] + [s.get("type") for s in spec.get("anyOf", [])]
        if "string" in kinds and "enum" not in spec and "format" not in spec:
            body[field] = text
    return body


def _resolved(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in spec:
        spec = schema["components"]["schemas"][spec["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in spec:  # an optional value: its first form that is not null
        spec = next(s for s in spec["anyOf"] if s.get("type") != "null")
        return _resolved(schema, spec)
    return spec


def valid_body(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    """A value its schema accepts (an example when it gives one); texts are "texte"."""
    spec = _resolved(schema, spec)
    if spec.get("examples"):
        return spec["examples"][0]
    if "enum" in spec:
        return spec["enum"][0]
    kind = spec.get("type")
    if kind == "object" or "properties" in spec:
        required = spec.get("required", [])
        return {
            name: valid_body(schema, sub, depth + 1)
            for name, sub in spec.get("properties", {}).items()
            if name in required and depth < 4
        }
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, spec.get("minimum", 1))
    if kind == "boolean":
        return False
    if spec.get("format") == "date-time":
        return "2031-01-01T00:00:00Z"
    if spec.get("format") == "duration":
        return "P7D"
    return "texte"


def text_fields(
    schema: dict[str, Any], body_spec: dict[str, Any], body: dict[str, Any]
) -> list[str]:
    model = _resolved(schema, body_spec)
    fields = []
    for field, spec in model.get("properties", {}).items():
        plain = _resolved(schema, spec) if field in body or "anyOf" in spec else spec
        if plain.get("type") == "string" and not {"enum", "format", "pattern"} & set(plain):
            fields.append(field)
    return fields


def clear_refusal(response, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    answer = response.json()
    assert answer["code"] and len(answer["message"]) > 10, (what, answer)


async def test_every_json_body_refuses_or_stores_hostile_input(http):
    schema = (await http.get("/openapi.json")).json()
    project = await ApiProject.launch(http)
    operations = bodies(schema)
    # Stored as data: the contribution with markup, read back as the same text in JSON.
    stored = await project.ok("POST", "/contributions", "p2", {"kind": "need", "text": PRINTABLE})
    events = await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential")
    texts = [
        e["data"]["contribution"]["text"]
        for e in events["events"]
        if e["data"]["type"] == "contribution_added"
    ]
    assert stored and PRINTABLE in texts

    assert len(operations) >= 35
    for method, path, body_spec in operations:
        url = re.sub(r"\{project_id\}", project.id, path)
        url = re.sub(r"\{[a-z_]+\}", "x", url)
        what = f"{method} {path}"

        async def send(content: bytes, who: str, method: str = method, url: str = url):
            headers = {**project.auth(who), "content-type": "application/json"}
            return await http.request(method, url, content=content, headers=headers)

        for who in ("p1", "coordinator-credential"):
            clear_refusal(await send(b'{"text": "\xff\xfe\xc3\x28"}', who), f"{what} not UTF-8")
            clear_refusal(await send(b"[" * 100_000 + b"]" * 100_000, who), f"{what} deep")
            clear_refusal(await send(b'{"text": "' + b"a" * 300_000 + b'"}', who), f"{what} big")
            clear_refusal(await send(b'"just a string"', who), f"{what} wrong type")
            for text in (EVERYTHING, PRINTABLE):
                response = await send(json.dumps(example_of(schema, body_spec, text)).encode(), who)
                assert response.status_code < 500, (what, response.status_code, response.text)
                if response.status_code >= 400:
                    clear_refusal(response, what)
            TRIED[f"API {what}"] += 6
        base = valid_body(schema, body_spec)
        names = text_fields(schema, body_spec, base)
        if names:
            loop = asyncio.get_running_loop()
            await asyncio.to_thread(any_text, loop, http, project, method, url, what, base, names)
    # Every contribution taken is there as typed, cleaned the way every text is.
    events = await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential")
    read_back = [
        e["data"]["contribution"]["text"]
        for e in events["events"]
        if e["data"]["type"] == "contribution_added"
    ]
    assert STORED and all(text in read_back for text in STORED), (STORED, read_back)


# What each contribution taken should read back as: cleaned (controls dropped, trimmed).
STORED: list[str] = []


def any_text(loop, http, project, method, url, what, base, names) -> None:
    """Hypothesis in a thread of its own, the app answering on the test's loop."""

    @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        st.fixed_dictionaries({n: hostile_text for n in names}),
        st.sampled_from(["p1", "coordinator-credential"]),
    )
    def case(texts: dict[str, str], who: str) -> None:
        body = json.dumps({**base, **texts}).encode()
        headers = {**project.auth(who), "content-type": "application/json"}
        response = asyncio.run_coroutine_threadsafe(
            http.request(method, url, content=body, headers=headers), loop
        ).result(60)
        assert response.status_code < 500, (what, response.status_code, response.text)
        if response.status_code >= 400:
            clear_refusal(response, what)
        TRIED[f"API {what}: {'taken' if response.status_code < 400 else 'refused'}"] += 1
        if response.status_code < 400 and url.endswith("/contributions"):
            STORED.append(str(clean_text(texts["text"])))

    case()
