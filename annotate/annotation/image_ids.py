"""Opaque image ids, one set per lease: the ids an annotator sees say nothing of which images
belong together across units, so a distractor (an image borrowed from another neuron) cannot
be told by its id. The server maps them back to (neuron, image) pairs on every request.
"""

from django.utils.crypto import salted_hmac

SALT = "neuronjudge.annotation.image-id"


def image_id(lease_id: int, pair_id: int) -> str:
    return salted_hmac(SALT, f"{lease_id}:{pair_id}", algorithm="sha256").hexdigest()[:16]


def pair_lookup(lease_id: int, pair_ids) -> dict[str, int]:
    """Opaque id -> pair id for one lease. Pair ids as strings are accepted too, so answers a
    browser queued before the ids became opaque are still stored."""
    lookup = {image_id(lease_id, pair): pair for pair in pair_ids}
    return lookup | {str(pair): pair for pair in pair_ids}


LABEL_SALT = "neuronjudge.annotation.label-id"


def label_id(lease_id: int, neuron_id: int) -> str:
    """A best-of label's opaque id for one lease: it does not tell which label set gave it."""
    return salted_hmac(LABEL_SALT, f"{lease_id}:{neuron_id}", algorithm="sha256").hexdigest()[:16]
