"""Problems found in import files, and the report of an import that succeeded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ImportFailed(Exception):
    """An import refused; nothing was changed. `problems` lists what is wrong and where."""

    def __init__(self, problems: list[Problem], more: int = 0):
        self.problems = list(problems)
        self.more = more
        super().__init__(self.text())

    def text(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.more:
            lines.append(f"... and {self.more:,} more problems")
        return "\n".join(lines)


class Problems:
    """Collects problems up to a cap, so one bad file reports several lines at once."""

    def __init__(self, cap: int = MAX_PROBLEMS):
        self.cap = cap
        self.items: list[Problem] = []
        self.more = 0

    def add(self, file: str, line: int | None, message: str) -> None:
        if len(self.items) < self.cap:
            self.items.append(Problem(file, line, message))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFailed(self.items, self.more)


def fail(file: str, message: str, line: int | None = None) -> ImportFailed:
    return ImportFailed([Problem(file, line, message)])


@dataclass
class ImportReport:
    """What an import did. `created + updated + unchanged` is the number of rows read."""

    kind: str
    file: str
    format: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    images_stored: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.images_stored)

    def summary(self) -> str:
        text = (
            f"{self.file}: {self.rows:,} {self.kind} rows read; {self.created:,} created, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged"
        )
        if self.images_stored:
            text += f"; {self.images_stored:,} new images stored"
        return "; ".join([text, *self.notes])

    def as_dict(self) -> dict:
        return {**asdict(self), "summary": self.summary()}
