"""Pairs per second of the one-pass BLIP-2 scorer against the reference study's loop.

    .venv/bin/python bench/blip2_bench.py --config tiny              # CPU, small model
    .venv/bin/python bench/blip2_bench.py --config full --device cuda  # blip2-opt-2.7b shape

Both sides use the same randomly initialised model (speed does not depend on the weights),
the same tokenizer, prompt and (image, label) pairs, and both decode the same PNG bytes.
The reference loop is the study's: one image at a time through the processor and
`generate()`, then the answer text parsed. It is timed on `--reference-pairs` pairs (its cost
per pair is constant) and its rate projected to the whole workload; the one-pass scorer runs
on every pair. Timing starts after the model is built.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.raters.base import Pair, RaterContext, StageTimer  # noqa: E402
from evaluation.raters.blip2 import (  # noqa: E402
    DEFAULT_PROMPT,
    Blip2Rater,
    check_blip2_params,
    resolve_device,
)
from evaluation.raters.vqa_answers import parse_yes_no  # noqa: E402

CONCEPTS = ROOT.parent / "shared/data/clip-dissect/concept_sets/10k.txt"
OPT_VOCAB = 50272

CONFIGS = {
    # Small enough for a shared 2-core CPU, shaped like BLIP-2: 224px images, 32 queries,
    # a decoder-only LM with OPT's 50,272-token vocabulary.
    "tiny": {
        "vision": dict(hidden_size=128, intermediate_size=512, num_hidden_layers=2,
                       num_attention_heads=4, image_size=224, patch_size=16),
        "qformer": dict(hidden_size=128, intermediate_size=512, num_hidden_layers=2,
                        num_attention_heads=4),
        "text": dict(hidden_size=256, ffn_dim=1024, num_hidden_layers=4, num_attention_heads=4,
                     word_embed_proj_dim=256),
        "pairs": 192, "reference_pairs": 48, "batch_size": 32,
    },
    # Salesforce/blip2-opt-2.7b: ViT-g (39 layers, 1408), Q-Former (12 layers), OPT-2.7B.
    "full": {
        "vision": {},
        "qformer": {},
        "text": dict(hidden_size=2560, ffn_dim=10240, num_hidden_layers=32,
                     num_attention_heads=32, word_embed_proj_dim=2560),
        "pairs": 19200, "reference_pairs": 100, "batch_size": 256,
    },
}  # fmt: skip


def word_tokenizer(words: list[str]):
    """A word-level tokenizer over the prompt and label words; ids fit in OPT's vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["<pad>", "</s>", "<unk>", "<image>"]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(special + words))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="</s> $A", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="</s>", eos_token="</s>", pad_token="<pad>",
        unk_token="<unk>", padding_side="left",
    )  # fmt: skip


def build(config: str, device: torch.device, labels: list[str]):
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessor,
        OPTConfig,
    )

    spec = CONFIGS[config]
    prompt_words = DEFAULT_PROMPT.replace("{label}", "").split()
    words = ["yes", "no", "Yes", "No", "YES", "NO", "'", "'?", "?", ":", *prompt_words]
    tokenizer = word_tokenizer(words + [w for label in labels for w in label.split()])
    text = OPTConfig(
        vocab_size=OPT_VOCAB, pad_token_id=0, bos_token_id=1, eos_token_id=1, **spec["text"]
    )
    blip_config = Blip2Config(
        vision_config=spec["vision"],
        qformer_config=spec["qformer"],
        text_config=text,
        num_query_tokens=32,
        image_token_index=3,
    )
    image_size = blip_config.vision_config.image_size
    processor = Blip2Processor(
        BlipImageProcessor(size={"height": image_size, "width": image_size}),
        tokenizer,
        num_query_tokens=32,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = Blip2ForConditionalGeneration(blip_config).eval()
    if device.type == "cuda":  # as from_pretrained(dtype=bfloat16) leaves it
        model.to(torch.bfloat16)
        model.qformer.float()
        model.query_tokens.data = model.query_tokens.data.float()
    return model, processor


def workload(pairs: int, images: int, seed: int = 0) -> tuple[list[Pair], dict[str, bytes]]:
    """`pairs` (image, label) pairs over `images` distinct 224px PNGs, ordered by image."""
    rng = np.random.default_rng(seed)
    blobs: dict[str, bytes] = {}
    for _ in range(images):
        pixels = rng.integers(0, 256, size=(56, 56, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).resize((224, 224)).save(buffer, format="PNG")
        blobs[hashlib.sha256(buffer.getvalue()).hexdigest()] = buffer.getvalue()
    concepts = [c.strip() for c in CONCEPTS.read_text().splitlines() if c.strip()]
    shas = list(blobs)
    picker = random.Random(seed)
    rows = sorted((shas[i % len(shas)], picker.choice(concepts)) for i in range(pairs))
    return [Pair(i, sha, label) for i, (sha, label) in enumerate(rows)], blobs


class MemoryImages:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def read(self, sha256: str) -> bytes:
        return self.blobs[sha256]


def reference_loop(model, processor, pairs, blobs, device, new_tokens: int) -> list[str]:
    """The study's loop: one image at a time, processor, generate(), parse the answer."""
    dtype = model.vision_model.embeddings.patch_embedding.weight.dtype
    verdicts = []
    for pair in pairs:
        image = Image.open(io.BytesIO(blobs[pair.image_sha256])).convert("RGB")
        prompt = DEFAULT_PROMPT.format(label=pair.label)
        inputs = processor(images=image, text=prompt, return_tensors="pt").to(device)
        inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False)
        answer = processor.tokenizer.decode(
            out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        )
        verdicts.append(parse_yes_no(answer))
    return verdicts


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--pairs", type=int, help="pairs for the one-pass scorer")
    parser.add_argument("--images", type=int, help="distinct images (default: one per pair)")
    parser.add_argument("--reference-pairs", type=int, help="pairs timed in the reference loop")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument(
        "--reference-new-tokens",
        type=int,
        default=2,
        help="tokens the reference generates: the trained model answers 'yes' + end",
    )
    args = parser.parse_args()
    spec = CONFIGS[args.config]
    device = resolve_device(args.device)
    total = args.pairs or spec["pairs"]
    pairs, blobs = workload(total, args.images or total)
    batch_size = args.batch_size or spec["batch_size"]

    (model, processor), load_s = timed(lambda: build(args.config, device, [p.label for p in pairs]))
    print(f"device={device} config={args.config} model built in {load_s:.1f}s (random weights)")
    params = {"batch_size": batch_size, "image_batch_size": min(batch_size, 128)}
    rater = Blip2Rater(model, processor, check_blip2_params(params))
    context = RaterContext(images=MemoryImages(blobs), timer=StageTimer())
    warm = pairs[: min(4, len(pairs))]
    rater.rate(warm, RaterContext(images=MemoryImages(blobs), timer=StageTimer()))
    reference_loop(model, processor, warm[:1], blobs, device, args.reference_new_tokens)
    rater._features.clear()

    verdicts, fast_s = timed(lambda: rater.rate(pairs, context))
    sample = pairs[: args.reference_pairs or spec["reference_pairs"]]
    _, slow_s = timed(
        lambda: reference_loop(model, processor, sample, blobs, device, args.reference_new_tokens)
    )
    fast_rate, slow_rate = len(pairs) / fast_s, len(sample) / slow_s
    print(
        f"one-pass: {len(pairs)} pairs, {len(blobs)} images, batch {batch_size}: "
        f"{fast_s:.2f}s = {fast_rate:.1f} pairs/s; stages {context.timer.as_dict()}"
    )
    print(
        f"reference loop (one image at a time, generate {args.reference_new_tokens} tokens): "
        f"{len(sample)} pairs in {slow_s:.2f}s = {slow_rate:.2f} pairs/s"
    )
    print(
        f"projected for {len(pairs)} pairs: one-pass {len(pairs) / fast_rate:.1f}s, "
        f"reference {len(pairs) / slow_rate:.1f}s"
    )
    print(f"speed-up (one-pass / reference pairs per second): {fast_rate / slow_rate:.1f}x")
    assert len(verdicts) == len(pairs)


if __name__ == "__main__":
    main()
