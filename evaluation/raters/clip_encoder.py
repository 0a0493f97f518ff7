"""One loaded OpenCLIP model: batched, cached image and text embeddings. No Django.

Images are decoded and embedded once per (model key, image SHA-256) and texts once per
(model key, text SHA-256); both go to the shared VectorCache, so CP and ES raters on the
same weights, and re-runs, reuse them. Text is encoded only up to the longest real token
sequence of its batch (exact for causal, end-of-text-pooled text towers; see tests).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from evaluation.raters.base import RaterContext, RaterUnavailable
from evaluation.raters.clip_spec import ClipSpec, model_dir

IMAGE, TEXT = "image", "text"
_ENCODERS: dict[tuple[str, str], ClipEncoder] = {}
_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pick_device(device: str) -> str:
    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def set_cpu_threads() -> None:
    """Use the cores this process may run on, unless the operator chose (OMP_NUM_THREADS)."""
    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))


class ClipEncoder:
    """Wraps an open_clip model, its eval transform and tokenizer."""

    def __init__(self, spec: ClipSpec, model, preprocess: Callable, tokenizer, device: str):
        self.spec = spec
        self.model = model.eval().to(device)
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.model_key = spec.model_key
        self.calls = {"images": 0, "texts": 0}  # encoder forward passes, for tests and stats
        self._texts: dict[str, np.ndarray] = {}  # in-process memo of text embeddings

    def _autocast(self):
        dtype = _AUTOCAST.get(self.spec.precision)
        if dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.split(":")[0], dtype=dtype)

    def describe(self) -> dict[str, Any]:
        """What produced the embeddings, for the run record (the exact preprocessing too)."""
        preprocess = getattr(getattr(self.model, "visual", None), "preprocess_cfg", None)
        return {
            "model_key": self.model_key,
            "device": self.device,
            "precision": self.spec.precision,
            "preprocess": {
                k: list(v) if isinstance(v, tuple) else v for k, v in (preprocess or {}).items()
            },
        }

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        self.calls["images"] += 1
        with self._autocast():
            features = self.model.encode_image(pixels.to(self.device), normalize=True)
        return features.float().cpu().numpy()

    @torch.inference_mode()
    def encode_tokens(self, tokens: torch.Tensor, truncate: bool = True) -> np.ndarray:
        self.calls["texts"] += 1
        tokens = tokens.to(self.device)
        with self._autocast():
            if truncate and can_truncate(self.model):
                features = encode_text_truncated(self.model, tokens)
            else:
                features = self.model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy()

    def embed_texts(
        self, texts: Sequence[str], context: RaterContext, batch_size: int = 1024
    ) -> dict[str, np.ndarray]:
        """Unit vectors for each distinct text, from memory, the cache, or the encoder."""
        wanted = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if wanted and context.cache is not None:
            cached = context.cache.get_many(self.model_key, TEXT, [text_key(t) for t in wanted])
            for text in wanted:
                if text_key(text) in cached:
                    self._texts[text] = cached[text_key(text)]
        missing = [t for t in wanted if t not in self._texts]
        if missing:
            with context.timer.stage("embed_text"):
                tokens = self.tokenizer(missing)
                # Sort by real length so each batch is truncated as short as it can be.
                order = np.argsort((tokens != 0).sum(1).numpy(), kind="stable")
                new: dict[str, np.ndarray] = {}
                for start in range(0, len(order), batch_size):
                    idx = order[start : start + batch_size]
                    vectors = self.encode_tokens(tokens[torch.as_tensor(idx)])
                    new.update({missing[i]: v for i, v in zip(idx, vectors, strict=True)})
            self._texts.update(new)
            if context.cache is not None:
                context.cache.put_many(self.model_key, TEXT, {text_key(t): new[t] for t in new})
        return {t: self._texts[t] for t in texts}

    def embed_images(
        self, shas: Sequence[str], context: RaterContext, batch_size: int
    ) -> dict[str, np.ndarray]:
        """Unit vectors for each distinct image: cached ones read, the rest decoded in batches."""
        unique = list(dict.fromkeys(shas))
        found = context.cache.get_many(self.model_key, IMAGE, unique) if context.cache else {}
        missing = [s for s in unique if s not in found]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for start in range(0, len(missing), batch_size):
                batch = missing[start : start + batch_size]
                with context.timer.stage("read"):  # in this thread: sources may use its DB
                    blobs = [context.images.read(sha) for sha in batch]
                with context.timer.stage("decode"):
                    pixels = torch.stack(list(pool.map(self._pixels, blobs)))
                with context.timer.stage("embed_images"):
                    vectors = self.encode_pixels(pixels)
                new = dict(zip(batch, vectors, strict=True))
                if context.cache is not None:
                    context.cache.put_many(self.model_key, IMAGE, new)
                found.update(new)
        return found

    def _pixels(self, blob: bytes) -> torch.Tensor:
        with Image.open(io.BytesIO(blob)) as img:
            return self.preprocess(img.convert("RGB"))


def can_truncate(model) -> bool:
    """Causal mask and end-of-text pooling: positions after the last real token cannot matter."""
    return (
        getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) in ("argmax", "eos")
        and hasattr(model, "positional_embedding")
    )


def encode_text_truncated(model, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's CLIP.encode_text over the first L positions, L = longest real sequence."""
    from open_clip.transformer import text_global_pool

    length = int((tokens != getattr(model, "pad_id", 0)).sum(1).max())
    tokens = tokens[:, : max(1, length)]
    n = tokens.shape[1]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:n].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:n, :n])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type, getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        if isinstance(model.text_projection, torch.nn.Linear):
            x = model.text_projection(x)
        else:
            x = x @ model.text_projection
    return torch.nn.functional.normalize(x, dim=-1)


def _missing_weights(spec: ClipSpec, detail: str) -> RaterUnavailable:
    return RaterUnavailable(
        f"OpenCLIP weights for model {spec.model!r} with pretrained {spec.pretrained!r} are not "
        f"on this machine ({detail}). Weights are never downloaded here: put the open_clip "
        f"checkpoint in the Hugging Face cache under NEURONJUDGE_MODEL_DIR ({model_dir()}) or "
        f"HF_HOME, or give the rater a local checkpoint path as 'pretrained' "
        f"(or model 'local-dir:/path/to/folder' with open_clip_config.json)."
    )


def _cached_tag_file(spec: ClipSpec) -> tuple[str, dict[str, Any]]:
    """The local file holding a pretrained tag's weights, found without any network access."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(spec.model, spec.pretrained or "")
    if not cfg:
        raise RaterUnavailable(
            f"open_clip knows no pretrained tag {spec.pretrained!r} for model {spec.model!r}; "
            f"known: {', '.join(open_clip.list_pretrained_tags_by_model(spec.model)) or 'none'}"
        )
    for cache_dir in (str(model_dir()), None):
        if cfg.get("hf_hub"):
            repo, filename = os.path.split(cfg["hf_hub"])
            for name in (
                [filename]
                if filename
                else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
            ):
                hit = try_to_load_from_cache(repo, name, cache_dir=cache_dir)
                if isinstance(hit, str):
                    return hit, cfg
        if cfg.get("url"):
            flat = Path(cache_dir or Path.home() / ".cache" / "clip") / os.path.basename(cfg["url"])
            if flat.is_file():
                return str(flat), cfg
    raise _missing_weights(spec, "not found in the model caches")


def load_encoder(spec: ClipSpec, device: str = "auto") -> ClipEncoder:
    """Build (once per process and device) the encoder; fail fast when weights are absent."""
    device = pick_device(device)
    key = (spec.model_key, device)
    if key not in _ENCODERS:
        _ENCODERS[key] = _build(spec, device)
    return _ENCODERS[key]


def _build(spec: ClipSpec, device: str) -> ClipEncoder:
    import open_clip

    if device == "cpu":
        set_cpu_threads()
    preprocess_cfg: dict[str, Any] = {}
    path = spec.checkpoint_path
    if path is not None and not path.is_file():
        raise _missing_weights(spec, f"{path} does not exist")
    if path is None and not spec.model.startswith("local-dir:"):
        file, tag_cfg = _cached_tag_file(spec)
        path = Path(file)
        names = {
            "mean": "image_mean",
            "std": "image_std",
            "interpolation": "image_interpolation",
            "resize_mode": "image_resize_mode",
        }
        preprocess_cfg = {arg: tag_cfg[key] for key, arg in names.items() if key in tag_cfg}
    if spec.checkpoint_sha256:
        from evaluation.raters.clip_spec import file_sha256

        if file_sha256(path) != spec.checkpoint_sha256:
            raise RaterUnavailable(
                f"checkpoint {path} no longer matches the SHA-256 recorded with the rater "
                f"({spec.checkpoint_sha256[:12]}...): create a new rater for the new weights"
            )
    local_dir = spec.is_demo or spec.model.startswith("local-dir:")
    model, _, preprocess = open_clip.create_model_and_transforms(
        spec.open_clip_name,
        pretrained=None if local_dir else str(path),
        device=device,
        require_pretrained=True,
        **preprocess_cfg,
    )
    tokenizer = open_clip.get_tokenizer(spec.open_clip_name)
    return ClipEncoder(spec, model, preprocess, tokenizer, device)
