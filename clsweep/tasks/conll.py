"""A small reader for CoNLL-style column files: one token per line, blank lines between sentences."""

from __future__ import annotations

from pathlib import Path


class ConllFormatError(ValueError):
    """A line that does not have the token and tag columns; the message names the line."""


def _columns(line: str, separator: str | None) -> list[str]:
    parts = line.split(separator) if separator is not None else line.split()
    return [p.strip() for p in parts]


def _pick(cols: list[str], index: int, lineno: int, what: str) -> str:
    try:
        return cols[index]
    except IndexError:
        raise ConllFormatError(
            f"line {lineno}: no {what} column {index} (the line has {len(cols)} column(s))"
        ) from None


def read_conll(
    path: str | Path,
    token_column: int = 0,
    tag_column: int = -1,
    separator: str | None = None,
) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences as (tokens, tags); `-DOCSTART-` lines are document markers, not tokens."""
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    cur_tokens: list[str] = []
    cur_tags: list[str] = []

    def flush() -> None:
        if cur_tokens:
            sentences.append(list(cur_tokens))
            tags.append(list(cur_tags))
            cur_tokens.clear()
            cur_tags.clear()

    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            if line.lstrip().startswith("-DOCSTART-"):
                flush()
                continue
            cols = _columns(line, separator)
            token, tag = _pick(cols, token_column, lineno, "token"), _pick(cols, tag_column, lineno, "tag")
            if len(cols) < 2:  # with the default tag column (-1) the tag would silently be the token itself
                raise ConllFormatError(f"line {lineno}: {line.strip()!r} has a token but no tag; every token line "
                                       "needs a token and a tag column (whitespace-separated, or by `separator`)")
            cur_tokens.append(token)
            cur_tags.append(tag)
    flush()
    return sentences, tags
