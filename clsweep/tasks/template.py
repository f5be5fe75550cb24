"""Text-to-text prompts: a task's instruction, its options, the text and an answer prefix, rendered as one input."""

from __future__ import annotations

import string
from typing import Any

from pydantic import Field, field_validator

from clsweep.schema import Strict

# O-LoRA's layout (Wang et al. 2023, as its data loader builds it): the instruction, "Option: " with the label
# names, the text, then "Answer:"; the model generates the label string.
OLORA_FORMAT = "{instruction}\nOption: {options} \n{text}\nAnswer:"
FIELDS = ("instruction", "options", "text", "text_pair")


def field_names(fmt: str) -> list[str]:
    """The fields a format string names in braces, in order (repeats kept); ValueError if it is malformed."""
    return [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]


class Template(Strict):
    """How a text-to-text task's input is written; `format` names fields in braces, {text} among them."""

    instruction: str = Field("", description="what the model is asked (O-LoRA's instructions.json wording, "
                                              "without its trailing newline)")
    format: str = Field(OLORA_FORMAT, description="the input: {instruction}, {options} (the label names, in the "
                                                  "order of the task's label list: list `labels:` to choose it), "
                                                  "{text} (required) and {text_pair}")
    option_separator: str = ", "
    text_format: str | None = Field(None, description="how the text_column column(s) are written as {text}: a "
                                                      "format naming each of them in braces, e.g. "
                                                      "'Title: {title}\\nText: {content}\\n' (default: one column "
                                                      "as it is, several as 'column: value' joined by spaces)")
    pair_format: str | None = Field(None, description="the same for the text_pair_column column(s) and "
                                                      "{text_pair}, e.g. '{sentence1}\\n{sentence2}'")

    @field_validator("format")
    @classmethod
    def _fields(cls, v: str) -> str:
        try:
            names = field_names(v)
        except ValueError as e:
            raise ValueError(f"format is not a valid template ({e}); write fields as {{text}}, literal braces as "
                             "{{ and }}") from e
        unknown = sorted({n for n in names if n not in FIELDS})
        if unknown:
            raise ValueError(f"format names unknown field(s) {', '.join(unknown)}; valid: {', '.join(FIELDS)}")
        if "text" not in names:
            raise ValueError("format must contain {text}: without it the model never sees the example")
        return v

    @field_validator("text_format", "pair_format")
    @classmethod
    def _column_fields(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            names = field_names(v)
        except ValueError as e:
            raise ValueError(f"not a valid template ({e}); write columns as {{name}}, literal braces as "
                             "{{ and }}") from e
        if not names:
            raise ValueError("name the column(s) it writes in braces, e.g. {sentence1}")
        bad = sorted({n for n in names if not n or n.isdigit() or any(c in n for c in ".[]")})
        if bad:
            raise ValueError(f"fields must be column names; not: {', '.join(repr(n) for n in bad)}")
        return v

    def render(self, text: str, options: list[str], pair: str | None = None) -> str:
        values: dict[str, Any] = {"instruction": self.instruction, "options": self.option_separator.join(options),
                                  "text": text, "text_pair": pair or ""}
        return self.format.format(**values)

    def uses_pair(self) -> bool:
        return "text_pair" in field_names(self.format)
