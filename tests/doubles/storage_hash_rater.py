"""A cheap rater for the scale-out tests: it reads every image through Django's storage API
(as a worker on another machine must), checks the bytes against their hash, and answers from
the hash. A small sleep per batch lets two workers interleave on one run."""

import hashlib
import os
import time

from evaluation.raters.base import PairVerdict


class StorageHashRater:
    def __init__(self, params, device):
        self.delay = float(params.get("delay", 0.0))

    def rate(self, pairs, context):
        with context.timer.stage("read"):
            blobs = {p.image_sha256: context.images.read(p.image_sha256) for p in pairs}
        with context.timer.stage("score"):
            time.sleep(self.delay)
            return [
                PairVerdict(
                    p.pair_id,
                    "yes" if int(p.image_sha256, 16) % 2 else "no",
                    score=float(len(blobs[p.image_sha256])),
                    extra={
                        "pid": os.getpid(),
                        "bytes_match": hashlib.sha256(blobs[p.image_sha256]).hexdigest()
                        == p.image_sha256,
                    },
                )
                for p in pairs
            ]


def build(params, device, site=None):
    return StorageHashRater(params, device)
