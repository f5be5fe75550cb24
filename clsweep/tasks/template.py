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


class Template(Strict):
    """How a text-to-text task's input is written; `format` names fields in braces, {text} among them."""

    instruction: str = Field("", description="what the model is asked (O-LoRA's instructions.json wording, "
                                              "without its trailing newline)")
    format: str = Field(OLORA_FORMAT, description="the input: {instruction}, {options} (the label names), {text} "
                                                  "(required) and {text_pair}")
    option_separator: str = ", "

    @field_validator("format")
    @classmethod
    def _fields(cls, v: str) -> str:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
        except ValueError as e:
            raise ValueError(f"format is not a valid template ({e}); write fields as {{text}}, literal braces as "
                             "{{ and }}") from e
        unknown = sorted({n for n in names if n not in FIELDS})
        if unknown:
            raise ValueError(f"format names unknown field(s) {', '.join(unknown)}; valid: {', '.join(FIELDS)}")
        if "text" not in names:
            raise ValueError("format must contain {text}: without it the model never sees the example")
        return v

    def render(self, text: str, options: list[str], pair: str | None = None) -> str:
        values: dict[str, Any] = {"instruction": self.instruction, "options": self.option_separator.join(options),
                                  "text": text, "text_pair": pair or ""}
        return self.format.format(**values)

    def uses_pair(self) -> bool:
        return any(f == "text_pair" for _, f, _, _ in string.Formatter().parse(self.format))
