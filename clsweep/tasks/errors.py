"""Errors about one task's data, reported as ConfigErrors that point at the task's key in its YAML file."""

from __future__ import annotations

from dataclasses import dataclass

from clsweep.errors import ConfigError, Issue, Sources


@dataclass(frozen=True)
class TaskErrors:
    """Builds issues for keys under `tasklist.tasks.<task>`, located in the file that holds them."""

    sources: Sources | None
    task: str

    def issue(self, key: str, message: str) -> Issue:
        path = f"tasklist.tasks.{self.task}.{key}"
        if self.sources is None:
            return Issue("<config>", path, message)
        file, inner = self.sources.locate(path)
        return Issue(file, inner, message)

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError([self.issue(key, message)])


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
