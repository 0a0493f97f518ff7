"""Short rater names: what tells raters apart, in a few characters."""

from itertools import count

from evaluation.models import Rater
from evaluation.reports.display_names import display_names

IDS = count(1)


def _rater(name, kind, **params):
    return Rater(pk=next(IDS), name=name, kind=kind, params=params)  # never saved


def test_short_names_carry_method_setting_and_model():
    raters = [
        _rater("es a", "openclip_es", model="ViT-B-32", pretrained="laion2b", threshold=0.25),
        _rater("cp", "openclip_cp", model="neuronjudge-demo-clip", proportion=0.01),
        _rater("vqa", "vqa_blip2", model="Salesforce/blip2-opt-2.7b"),
        _rater("human:alice", "human"),
        _rater("human:prolific-1-5f3c0ffee4b1a2c3d4e5f607", "human"),
    ]
    names = display_names(raters)
    assert [names[r.name] for r in raters] == [
        "ES 0.25 ViT-B-32",
        "CP 1% demo-clip",
        "VQA blip2-opt-2.7b",
        "human: alice",
        "human: prolific-1-5f…d4e5f607",
    ]
    assert names["Human Dawid-Skene"] == "consensus: Dawid-Skene"


def test_raters_alike_but_for_the_checkpoint_or_nothing_are_told_apart():
    one = _rater("es 1", "openclip_es", model="ViT-B-32", pretrained="laion2b", threshold=0.3)
    two = _rater("es 2", "openclip_es", model="ViT-B-32", pretrained="openai", threshold=0.3)
    three = _rater("es 3", "openclip_es", model="ViT-B-32", pretrained="openai", threshold=0.3)
    names = display_names([one, two, three])
    assert names["es 1"] == "ES 0.3 ViT-B-32 laion2b"
    assert names["es 2"] == f"ES 0.3 ViT-B-32 openai #{two.pk}"
    assert names["es 3"] == f"ES 0.3 ViT-B-32 openai #{three.pk}"
