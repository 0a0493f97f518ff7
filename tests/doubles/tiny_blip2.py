"""A tiny BLIP-2 (vision, Q-Former, OPT) and a word-level tokenizer, built in-process.

Nothing is downloaded: the configs are small, the weights random but seeded. The output rows
of the answer words are rebuilt so that greedy decoding always starts with a yes/no variant,
which lets a test compare the one-pass verdict with generate()'s first token on every pair.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import (
    Blip2Config,
    Blip2ForConditionalGeneration,
    Blip2Processor,
    BlipImageProcessor,
    OPTConfig,
    PreTrainedTokenizerFast,
    T5Config,
)

SPECIAL = ["<pad>", "</s>", "<unk>", "<image>"]
WORDS = [
    "question",
    ":",
    "does",
    "this",
    "image",
    "relate",
    "to",
    "the",
    "concept",
    "of",
    "'",
    "'?",
    "?",
    "answer",
    "yes",
    "no",
    "Yes",
    "No",
    "YES",
    "NO",
    "red",
    "green",
    "blue",
    "circle",
    "square",
    "striped",
    "dotted",
    "dog",
    "cat",
    "sky",
    "water",
]
DIGITS = ["1", "2", "3", "4", "5"]
QUERY_TOKENS = 4
IMAGE_SIZE = 32


def tiny_tokenizer(template: str = "</s> $A", digits: bool = False) -> PreTrainedTokenizerFast:
    """OPT-style by default (BOS first); T5 style is "$A </s>" (EOS last). `digits` adds the
    rating answers "1".."5" at the end, leaving the other ids as they were."""
    vocab = {token: i for i, token in enumerate(SPECIAL + WORDS + (DIGITS if digits else []))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[("</s>", vocab["</s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="</s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        padding_side="left",
    )


def tiny_config(vocab_size: int) -> Blip2Config:
    return Blip2Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": IMAGE_SIZE,
            "patch_size": 8,
        },
        qformer_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 64,
            "vocab_size": 64,
            "max_position_embeddings": 64,
        },
        text_config=OPTConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            ffn_dim=64,
            num_attention_heads=4,
            max_position_embeddings=128,
            word_embed_proj_dim=32,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=1,
            tie_word_embeddings=False,
        ),
        num_query_tokens=QUERY_TOKENS,
        image_token_index=SPECIAL.index("<image>"),
    )


def tiny_t5_text_config(vocab_size: int) -> T5Config:
    return T5Config(
        vocab_size=vocab_size,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        tie_word_embeddings=False,
    )


def tiny_blip2(
    seed: int = 0, t5: bool = False, digits: bool = False
) -> tuple[Blip2ForConditionalGeneration, Blip2Processor]:
    """OPT language model by default; `t5=True` gives a flan-t5-style encoder-decoder;
    `digits=True` a vocabulary with "1".."5" whose output rows depend on image and prompt."""
    tokenizer = tiny_tokenizer("$A </s>" if t5 else "</s> $A", digits=digits)
    processor = Blip2Processor(
        BlipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, do_convert_rgb=True),
        tokenizer,
        num_query_tokens=QUERY_TOKENS,
    )
    torch.manual_seed(seed)
    config = tiny_config(len(tokenizer))
    if t5:
        config.text_config = tiny_t5_text_config(len(tokenizer))
        config = Blip2Config(**config.to_dict())
    model = Blip2ForConditionalGeneration(config).eval()
    _answers_lead(model, tokenizer, scale=0.05 if t5 else 20.0)
    if digits:
        _digits_answer(model, tokenizer, seed)
    return model, processor


def _digits_answer(model: Blip2ForConditionalGeneration, tokenizer, seed: int) -> None:
    """Random output rows for "1".."5", large enough that the rating varies with the input."""
    head = model.language_model.get_output_embeddings().weight
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for digit in DIGITS:
            row = torch.randn(head.shape[1], generator=generator) * 0.5
            head[tokenizer.convert_tokens_to_ids(digit)] = row


def _answers_lead(model: Blip2ForConditionalGeneration, tokenizer, scale: float) -> None:
    """Zero every output row but the answer words; 'no' rows mirror 'yes' rows, so one of
    them always has a positive logit and greedy decoding starts with a yes/no word."""
    head = model.language_model.get_output_embeddings().weight
    ids = tokenizer.convert_tokens_to_ids
    with torch.no_grad():
        direction = head[ids("yes")].clone() * scale
        head.zero_()
        for yes, no, weight in (("yes", "no", 1.0), ("Yes", "No", 0.5), ("YES", "NO", 0.2)):
            head[ids(yes)] = direction * weight
            head[ids(no)] = -direction * weight
