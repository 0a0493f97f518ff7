"""BLIP-2 as a yes/no rater, scored by one forward pass instead of `generate()`.

The reference study asked BLIP-2 one image at a time and parsed the generated answer (8 hours
for 19,200 pairs). Here each image goes through the vision encoder, Q-Former and projection
once; its 32 query embeddings are then placed in front of the embedded prompt of every label it
is asked about, prompts are batched (left-padded for decoder-only models), and the verdict is
read from the answer-position logits: P(yes) against P(no), summed over case variants.
The `generate` mode keeps the reference behaviour for comparison.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from PIL import Image

from evaluation.raters.base import (
    LOOPBACK_SITE,
    Pair,
    PairVerdict,
    RaterContext,
    RaterSite,
    RaterUnavailable,
)
from evaluation.raters.vqa_answers import parse_yes_no
from evaluation.raters.vqa_blip2_settings import (  # noqa: F401 (re-exported)
    DEFAULT_MODEL,
    DEFAULT_PROMPT,
    Blip2Settings,
    check_blip2_params,
    full_blip2_params,
)

YES_VARIANTS = ("yes", "Yes", "YES")
NO_VARIANTS = ("no", "No", "NO")


def answer_token_ids(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """Ids of single tokens that spell one of `words`, with or without a leading space."""
    ids: list[int] = []
    for word in words:
        for text in (" " + word, word):
            tokens = tokenizer.encode(text, add_special_tokens=False)
            if tokens and tokenizer.decode(tokens[:1]).strip() == word and tokens[0] not in ids:
                ids.append(tokens[0])
    return ids


def yes_no_probabilities(
    logits: torch.Tensor, yes_ids: Sequence[int], no_ids: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """P(yes), P(no) over the whole vocabulary, and P(yes) renormalised over yes and no."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    log_yes = torch.logsumexp(log_probs[:, list(yes_ids)], dim=-1)
    log_no = torch.logsumexp(log_probs[:, list(no_ids)], dim=-1)
    return log_yes.exp(), log_no.exp(), torch.sigmoid(log_yes - log_no)


def resolve_device(device: str) -> torch.device:
    if device in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Blip2Rater:
    """Rates pairs with a loaded `Blip2ForConditionalGeneration` and its processor."""

    def __init__(self, model: Any, processor: Any, settings: Blip2Settings) -> None:
        self.model = model.eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.settings = settings
        self.device = next(model.parameters()).device
        self.dtype = model.vision_model.embeddings.patch_embedding.weight.dtype
        self.decoder_only = bool(model.config.use_decoder_only_language_model)
        self.yes_ids = answer_token_ids(self.tokenizer, YES_VARIANTS)
        self.no_ids = answer_token_ids(self.tokenizer, NO_VARIANTS)
        if not self.yes_ids or not self.no_ids or set(self.yes_ids) & set(self.no_ids):
            raise RaterUnavailable(
                f"the tokenizer of {settings.model} has no single-token ' yes' / ' no' answers"
            )
        self._features: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._prompt_ids: dict[str, list[int]] = {}
        self.image_feature_calls = 0  # images sent through the image side, for tests and notes

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        batch = int(context.batch_size or self.settings.batch_size)
        score = self._score_one_pass if self.settings.mode == "one_pass" else self._generate
        verdicts: list[PairVerdict] = []
        with torch.inference_mode():
            for start in range(0, len(pairs), batch):
                chunk = pairs[start : start + batch]
                if self.settings.mode == "one_pass":
                    self.ensure_features([p.image_sha256 for p in chunk], context)
                with context.timer.stage("score"):
                    verdicts.extend(score(chunk, context))
        context.notes["blip2_scoring"] = self.settings.mode
        return verdicts

    # The image side: vision encoder + Q-Former + projection, once per unique image.

    def ensure_features(self, shas: Sequence[str], context: RaterContext) -> None:
        """Features of these images in the cache, each image read and encoded once."""
        missing = list(dict.fromkeys(sha for sha in shas if sha not in self._features))
        step = self.settings.image_batch_size
        for start in range(0, len(missing), step):
            batch = missing[start : start + step]
            with context.timer.stage("read_images"):
                blobs = [context.images.read(sha) for sha in batch]  # storage/ORM: this thread
                images = self._decode(blobs)
            with context.timer.stage("embed_images"):
                features = self.image_features(images)
            for sha, feature in zip(batch, features, strict=True):
                self._features[sha] = feature
        for sha in dict.fromkeys(shas):
            self._features.move_to_end(sha)
        while len(self._features) > max(self.settings.image_cache, len(shas)):
            self._features.popitem(last=False)

    def _decode(self, blobs: Sequence[bytes]) -> list[Image.Image]:
        if self.settings.decode_workers == 1 or len(blobs) == 1:
            return [_load_image(blob) for blob in blobs]
        with ThreadPoolExecutor(self.settings.decode_workers) as pool:
            return list(pool.map(_load_image, blobs))

    def image_features(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Projected query embeddings, (images, query tokens, language-model width)."""
        pixels = self.processor.image_processor(images=list(images), return_tensors="pt")
        pixel_values = pixels["pixel_values"].to(self.device, self.dtype)
        self.image_feature_calls += len(images)
        return self.model.get_image_features(pixel_values=pixel_values).pooler_output

    # One forward pass: answer-position logits of every prompt in the batch.

    def _score_one_pass(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        logits = self.answer_logits(
            [self.features(p.image_sha256) for p in pairs],
            [self.settings.prompt.format(label=p.label) for p in pairs],
        )
        p_yes, p_no, score = yes_no_probabilities(logits, self.yes_ids, self.no_ids)
        return [
            PairVerdict(
                pair.pair_id,
                "yes" if s > self.settings.threshold else "no",
                score=float(s),
                extra={"p_yes": float(y), "p_no": float(n)},
            )
            for pair, y, n, s in zip(
                pairs, p_yes.tolist(), p_no.tolist(), score.tolist(), strict=True
            )
        ]

    def features(self, sha: str) -> torch.Tensor:
        """The cached features of an image that `ensure_features` has seen."""
        return self._features[sha]

    def answer_logits(
        self, features: Sequence[torch.Tensor], prompts: Sequence[str]
    ) -> torch.Tensor:
        """Next-token logits after each (image features, prompt text), (batch, vocabulary):
        the whole batch in one forward pass of the language model."""
        embed = self.model.get_input_embeddings()
        rows = []
        for feature, prompt in zip(features, prompts, strict=True):
            ids = torch.tensor(self._prompt_token_ids(prompt), device=self.device)
            rows.append(torch.cat([feature.to(embed.weight.dtype), embed(ids)], dim=0))
        inputs_embeds, mask = _pad(rows, left=self.decoder_only)
        lm = self.model.language_model
        if self.decoder_only:
            out = lm(inputs_embeds=inputs_embeds, attention_mask=mask, logits_to_keep=1)
            return out.logits[:, -1, :]
        start = lm.config.decoder_start_token_id
        decoder_ids = torch.full((len(rows), 1), start, dtype=torch.long, device=self.device)
        out = lm(inputs_embeds=inputs_embeds, attention_mask=mask, decoder_input_ids=decoder_ids)
        return out.logits[:, 0, :]

    def _prompt_token_ids(self, prompt: str) -> list[int]:
        if prompt not in self._prompt_ids:
            self._prompt_ids[prompt] = self.tokenizer(prompt)["input_ids"]
        return self._prompt_ids[prompt]

    # The reference behaviour: generate an answer per image and parse its text.

    def _generate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        with context.timer.stage("read_images"):
            images = [_load_image(context.images.read(p.image_sha256)) for p in pairs]
        prompts = [self.settings.prompt.format(label=p.label) for p in pairs]
        answers = self.generate_answers(images, prompts)
        return [
            PairVerdict(pair.pair_id, parse_yes_no(answer), extra={"answer": answer})
            for pair, answer in zip(pairs, answers, strict=True)
        ]

    def generate_answers(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[str]:
        self.tokenizer.padding_side = "left"
        inputs = self.processor(
            images=list(images), text=list(prompts), return_tensors="pt", padding=True
        ).to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        self.image_feature_calls += len(images)
        generated = self.model.generate(
            **inputs, max_new_tokens=self.settings.max_new_tokens, do_sample=False
        )
        if self.decoder_only:
            generated = generated[:, inputs["input_ids"].shape[1] :]
        return [t.strip() for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True)]


def _pad(rows: Sequence[torch.Tensor], left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (length, width) rows into a batch with an attention mask, padding with zeros."""
    longest = max(row.shape[0] for row in rows)
    width = rows[0].shape[1]
    batch = rows[0].new_zeros((len(rows), longest, width))
    mask = torch.zeros((len(rows), longest), dtype=torch.long, device=rows[0].device)
    for i, row in enumerate(rows):
        span = slice(longest - row.shape[0], longest) if left else slice(0, row.shape[0])
        batch[i, span] = row
        mask[i, span] = 1
    return batch, mask


def _load_image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def load_blip2(settings: Blip2Settings, device: str) -> tuple[Any, Any]:
    """Model and processor from a local path or the Hugging Face cache; fail fast if absent."""
    from transformers import Blip2ForConditionalGeneration, Blip2Processor

    target = resolve_device(device)
    dtype = torch.bfloat16 if target.type == "cuda" else torch.float32
    try:
        processor = Blip2Processor.from_pretrained(settings.model, revision=settings.revision)
        model = Blip2ForConditionalGeneration.from_pretrained(
            settings.model, revision=settings.revision, dtype=dtype
        )
    except (OSError, ValueError) as exc:
        raise RaterUnavailable(
            f"BLIP-2 weights for {settings.model!r} are not available here ({exc}). "
            "Download them once on a machine with internet access "
            f"(`hf download {settings.model}`) into the Hugging Face cache (HF_HOME) that "
            "this worker reads, or set the rater's 'model' parameter to a local directory "
            "saved with save_pretrained(). Workers run with HF_HUB_OFFLINE=1 and never "
            "download weights themselves."
        ) from exc
    return model.to(target), processor


def build_blip2(params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE) -> Blip2Rater:
    settings = check_blip2_params(params)
    model, processor = load_blip2(settings, device)
    return Blip2Rater(model, processor, settings)
