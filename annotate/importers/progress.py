"""Progress of a long import: the command passes tqdm, everything else passes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Bar(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> object: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


Progress = Callable[[str, int], Bar]


def no_progress(description: str, total: int) -> Bar:
    return _Silent()


def tqdm_progress(description: str, total: int) -> Bar:
    """A tqdm bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit_scale=True, disable=None)
