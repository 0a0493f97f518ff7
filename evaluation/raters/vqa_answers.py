"""Reading a yes/no verdict or a 1-5 rating out of a model's free-text answer.

Only a clear leading "yes" or "no", or a leading whole number 1 to 5, counts. Anything else
is "unparseable": a rater must never guess, because a guessed verdict would silently bias
agreement with humans.
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


_RATING = re.compile(
    r"""[\s"'`*_(\[#>]*"""  # quotes and markdown before
    r"(?:(?:answer|assistant|a)\s*:|(?:rating|score)\s*:?)?"  # a chat or "Rating:" prefix
    r"""[\s"'`*_(\[]*"""  # markdown between, as in "**Rating:** 4"
    r"([1-5])"
    r"(?!\d|\s*[.,]\d|\s*[-\u2013]\s*\d|\s+(?:to|or)\s+\d|\s*/\s*(?!5\b)\d)",  # 45, 4.5, 3-4
    re.IGNORECASE,
)


def parse_rating(text: str | None) -> int | None:
    """1..5 for an answer such as "4", "Rating: 5", "**3**" or "4/5"; None for anything else
    ("maybe 4?", "6", "4.5", "3-4", an error page)."""
    match = _RATING.match(text or "")
    return int(match.group(1)) if match else None
