"""A tiny open_clip model built in-process (random weights) and an in-memory image store."""

import hashlib

from evaluation.raters.clip_spec import ClipSpec

TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


class MemoryImages:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.reads = 0

    def add(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def read(self, sha256: str) -> bytes:
        self.reads += 1
        return self.blobs[sha256]


def tiny_encoder(seed: int = 0, name: str = "tiny"):
    import open_clip
    import torch

    from evaluation.raters.clip_encoder import ClipEncoder

    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CFG)
    preprocess = open_clip.image_transform(32, is_train=False)
    tokenizer = open_clip.SimpleTokenizer(context_length=77)
    spec = ClipSpec(
        model=name, pretrained=f"random-{seed}", checkpoint_sha256=None, precision="fp32"
    )
    return ClipEncoder(spec, model, preprocess, tokenizer, "cpu")
