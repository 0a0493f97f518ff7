import pytest
from django.core.management import CommandError, call_command

from annotate.models import ConceptSet, Neuron, NeuronImage, Study
from tests.helpers import png_bytes, snapshot

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_concepts_labels_and_images_commands(tmp_path):
    (tmp_path / "colours.txt").write_text("red\nblue\n")
    (tmp_path / "labels.csv").write_text("layer,unit,description,similarity\nconv1,0,red,0.3\n")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(png_bytes(seed=3))
    (tmp_path / "m.jsonl").write_text('{"layer":"conv1","unit":0,"rank":1,"path":"a.png"}\n')

    assert "2 created" in _run("import_concepts", str(tmp_path / "colours.txt"))
    out = _run(
        "import_labels", str(tmp_path / "labels.csv"), "--study", "S", "--network", "resnet50",
        "--probe-dataset", "broden", "--concept-set", "colours", "--k", "3",
    )  # fmt: skip
    assert "(clip_dissect)" in out and "1 created" in out and "created study 'S'" in out
    out = _run("import_images", str(tmp_path / "m.jsonl"), str(tmp_path / "imgs"), "--study", "S")
    assert "1 created" in out and "1 new images stored" in out
    study = Study.objects.get(name="S")
    assert (study.k, study.concept_set, study.layers) == (3, ConceptSet.objects.get(), ["conv1"])
    assert NeuronImage.objects.filter(neuron__study=study).count() == 1


def test_failed_import_exits_non_zero_listing_problems(tmp_path):
    (tmp_path / "labels.csv").write_text("layer,unit,description\nconv1,x,red\nconv1,1,\n")
    before = snapshot()
    with pytest.raises(CommandError) as info:
        call_command(
            "import_labels", str(tmp_path / "labels.csv"), "--study", "S",
            "--network", "n", "--probe-dataset", "p",
        )  # fmt: skip
    text = str(info.value)
    assert "nothing was changed" in text
    assert "labels.csv, line 2: unit must be a whole number" in text
    assert "labels.csv, line 3: description is empty" in text
    assert snapshot() == before and not Study.objects.exists()


def test_new_study_needs_network_and_clashing_options_refused(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("layer,unit,description\nconv1,0,red\n")
    with pytest.raises(CommandError, match="to create it give"):
        call_command("import_labels", str(path), "--study", "S")
    _run("import_labels", str(path), "--study", "S", "--network", "n", "--probe-dataset", "p")
    with pytest.raises(CommandError, match="already exists with k=5"):
        call_command("import_labels", str(path), "--study", "S", "--k", "10")
    with pytest.raises(CommandError, match="no study called 'T'"):
        call_command("import_images", str(path), str(tmp_path), "--study", "T")
    assert Neuron.objects.count() == 1
