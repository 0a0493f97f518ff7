"""Reading a yes/no verdict out of a model's free-text answer, shared by both VQA raters.

Only a clear leading "yes" or "no" counts. Anything else is "unparseable": a rater must never
guess, because a guessed verdict would silently bias agreement with humans.
"""

from __future__ import annotations

import re

YES_WORDS = ("yes", "yeah", "yep")
NO_WORDS = ("no", "nope")

_FIRST_WORD = re.compile(r"[\s\"'`*_(\[]*([A-Za-z]+)")
_CHAT_PREFIX = re.compile(r"^\s*(?:answer|assistant|a)\s*:\s*", re.IGNORECASE)


def parse_yes_no(text: str | None) -> str:
    """'yes', 'no' or 'unparseable' for an answer such as "Yes", "yes." or "No, it does not"."""
    if not text:
        return "unparseable"
    match = _FIRST_WORD.match(_CHAT_PREFIX.sub("", text, count=1))
    if not match:
        return "unparseable"
    word = match.group(1).lower()
    if word in YES_WORDS:
        return "yes"
    if word in NO_WORDS:
        return "no"
    return "unparseable"
