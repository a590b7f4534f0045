"""Every JSON body the API takes (from its own OpenAPI), sent hostile: bytes that are not
UTF-8, JSON nested a hundred thousand deep, a body over the limit, wrong types, and every
text field holding markup, controls and right-to-left marks. The answer is a clear 4xx in
JSON (a code and a message a person can act on) or the text stored as data; never a 5xx."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.api_helpers import ApiProject
from tests.hostile.conftest import EVERYTHING, PRINTABLE, TRIED


def bodies(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path, body schema name) for each operation that takes a JSON body."""
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ref = content["application/json"]["schema"].get("$ref", "")
                found.append((method.upper(), path, ref.rsplit("/", 1)[-1]))
    return found


def example_of(schema: dict[str, Any], name: str, text: str) -> dict[str, Any]:
    """Every string property of the body set to `text` (nested models left out)."""
    model = schema["components"]["schemas"].get(name, {})
    body: dict[str, Any] = {}
    for field, spec in model.get("properties", {}).items():
        kinds = [spec.get("type")] + [s.get("type") for s in spec.get("anyOf", [])]
        if "string" in kinds and "enum" not in spec and "format" not in spec:
            body[field] = text
    return body


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
    for method, path, name in operations:
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
                response = await send(json.dumps(example_of(schema, name, text)).encode(), who)
                assert response.status_code < 500, (what, response.status_code, response.text)
                if response.status_code >= 400:
                    clear_refusal(response, what)
            TRIED[f"API {what}"] += 6
