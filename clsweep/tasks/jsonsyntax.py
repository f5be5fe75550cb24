"""Where a JSON or JSON-lines file breaks, by line: the readers behind `datasets` say a byte position or a row."""

from __future__ import annotations

import json
from pathlib import Path


def _snippet(line: str, width: int = 60) -> str:
    text = line.strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def _document_problem(text: str) -> str | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return f"line {e.lineno}, column {e.colno}: {e.msg}"
    return None


def json_problem(path: str | Path) -> str | None:
    """`line N, column C: what is wrong: the line` for the first syntax error, or None when the file parses
    (as one JSON document, or line by line as JSON lines)."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("[") or first == "{":  # one document spread over lines, not one record per line
        return _document_problem(text)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError as e:
            return f"line {n}, column {e.colno}: {e.msg}: {_snippet(line)}"
    return None
