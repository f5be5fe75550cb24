"""The user-input error contract: issues that name a file and a key path, gathered into one ConfigError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Issue:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """Bad user input: carries every issue found, each naming the file and the key path."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def one(cls, file: str | Path, path: str, message: str) -> ConfigError:
        return cls([Issue(str(file), path, message)])


@dataclass(frozen=True)
class Sources:
    """Which file each part of the merged config came from, for error messages."""

    experiment: str
    tasklist: str | None  # None when the tasklist is inline
    # (dotted key, option) for every key the command line set and every section it created: a mistake there
    # was typed after `--set` (or `--order` ...), not written in a file.
    overrides: tuple[tuple[str, str], ...] = ()

    def locate(self, path: str) -> tuple[str, str]:
        option = self.option_for(path)
        if option is not None:
            return option, path
        if self.tasklist and (path == "tasklist" or path.startswith("tasklist.")):
            return self.tasklist, path[len("tasklist."):] if path != "tasklist" else ""
        return self.experiment, path

    def option_for(self, path: str) -> str | None:
        """The command-line option that set `path` or a section above it (the most specific one), if any."""
        hits = [(key, opt) for key, opt in self.overrides if path == key or path.startswith((f"{key}.", f"{key}["))]
        return max(hits, key=lambda h: len(h[0]))[1] if hits else None
