"""Judgment.study, kept by a trigger, and the report's binary read of a study's judgments."""

import math

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction

from annotate.models import Neuron, NeuronImage
from evaluation.models import Judgment, Rater
from evaluation.reports.read import load_long_table
from evaluation.reports.read_arrays import unpack_array

pytestmark = pytest.mark.django_db


def test_the_trigger_fills_and_corrects_the_study_whatever_the_writer_sends(make_study, annotators):
    first, second = make_study(name="one", neurons=1, k=2), make_study(name="two", neurons=1, k=1)
    rater = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    pair, other_pair = first.neurons.get().images.order_by("rank")
    made = Judgment.objects.create(rater=rater, neuron_image=pair, verdict="yes")
    with connection.cursor() as cursor:  # a raw writer sending the wrong study
        cursor.execute(
            "INSERT INTO evaluation_judgment (rater_id, neuron_image_id, study_id, verdict, extra,"
            " created) VALUES (%s, %s, %s, 'no', '{}', now())",
            [rater.pk, other_pair.pk, second.pk],
        )
    assert set(Judgment.objects.values_list("study_id", flat=True)) == {first.pk}

    moved = second.neurons.get().images.get()
    Judgment.objects.filter(pk=made.pk).update(neuron_image=moved)
    assert Judgment.objects.get(pk=made.pk).study_id == second.pk


def test_a_judgment_of_an_unknown_pair_is_refused_by_name(make_study, annotators):
    make_study(neurons=1, k=1)
    rater = Rater.objects.create(name="bob", kind="human", user=annotators["bob"])
    refused = pytest.raises(IntegrityError, match="neuron image 987654 does not exist")
    with refused, transaction.atomic():
        Judgment.objects.create(rater=rater, neuron_image_id=987654, verdict="yes")
    assert not Judgment.objects.exists()


def test_long_table_keeps_every_verdict_and_score_and_leaves_distractors_out(
    make_study, annotators
):
    study = make_study(neurons=3, k=2, labels=["red", "green", "blue"])
    make_study(name="elsewhere", neurons=2, k=2)  # judged too, must not leak in
    Neuron.objects.filter(study=study, unit=2).update(layer="layer2")
    pairs = list(NeuronImage.objects.filter(neuron__study=study).order_by("neuron__unit", "rank"))
    NeuronImage.objects.filter(pk=pairs[-1].pk).update(is_distractor=True)
    human = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    model = Rater.objects.create(name="ES", kind="openclip_es", params={})
    verdicts = ["yes", "no", "skip", "unclear", "yes", "no"]
    Judgment.objects.bulk_create(
        Judgment(rater=human, neuron_image=p, verdict=v)
        for p, v in zip(pairs, verdicts, strict=True)
    )
    Judgment.objects.bulk_create(
        Judgment(rater=model, neuron_image=p, verdict="unparseable" if i == 1 else "yes",
                 score=None if i == 1 else i / 10)
        for i, p in enumerate(pairs)
    )  # fmt: skip
    for other in NeuronImage.objects.exclude(neuron__study=study):
        Judgment.objects.create(rater=model, neuron_image=other, verdict="no", score=0.5)

    table = load_long_table(study).sort_values(["rater_id", "item"]).reset_index(drop=True)

    assert len(table) == 10  # 2 raters x 5 pairs, the distractor left out
    rows = {(r.rater_id, r.item): r for r in table.itertuples()}
    for pair, verdict in zip(pairs[:-1], verdicts[:-1], strict=True):
        row = rows[(human.pk, pair.pk)]
        assert (row.verdict, row.neuron, row.layer, row.role) == (
            verdict, pair.neuron_id, pair.neuron.layer, "real",
        )  # fmt: skip
        assert math.isnan(row.score)
    assert rows[(model.pk, pairs[1].pk)].verdict == "unparseable"
    assert [rows[(model.pk, p.pk)].score for p in pairs[2:-1]] == [0.2, 0.3, 0.4]
    assert rows[(model.pk, pairs[-2].pk)].layer == "layer2"


def test_long_table_of_a_study_without_judgments_is_empty(make_study):
    table = load_long_table(make_study(neurons=2, k=1))
    assert table.empty and {"rater_id", "item", "verdict", "layer"} <= set(table.columns)


def test_unpack_array_reads_postgres_binary_arrays():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_send(ARRAY[1, -2, 300]::int2[]), array_send(ARRAY[]::int8[]),"
            " array_send(ARRAY[1.5, 'NaN']::float8[]), array_send(ARRAY[1, NULL]::int8[])"
        )
        small, empty, floats, with_null = (bytes(b) for b in cursor.fetchone())
    assert unpack_array(small, ">i2").tolist() == [1, -2, 300]
    assert unpack_array(empty, ">i8").size == 0
    assert np.isnan(unpack_array(floats, ">f8")[1]) and unpack_array(floats, ">f8")[0] == 1.5
    with pytest.raises(ValueError, match="without NULLs"):
        unpack_array(with_null, ">i8")


@pytest.mark.django_db(transaction=True)  # several connections read only committed rows
def test_readers_on_a_shared_snapshot_return_each_judgment_once(make_study, annotators):
    from evaluation.reports.read_arrays import read_study_arrays

    study = make_study(neurons=5, k=3)
    pairs = list(NeuronImage.objects.filter(neuron__study=study))
    raters = [
        Rater.objects.create(name=f"r{i}", kind="openclip_es", params={"t": i}) for i in range(3)
    ]
    Judgment.objects.bulk_create(
        Judgment(rater=r, neuron_image=p, verdict="yes" if (i + p.pk) % 2 else "no", score=i / 10)
        for i, r in enumerate(raters)
        for p in pairs
    )

    def rows(arrays):
        columns = (arrays.rater_id, arrays.item, arrays.verdict, arrays.score)
        return sorted(zip(*(c.tolist() for c in columns), strict=True))

    one = read_study_arrays(study.pk, readers=1)
    assert len(one.item) == 45 and sorted(one.pair_ids.tolist()) == [p.pk for p in pairs]
    for readers in (2, 3, 7):
        assert rows(read_study_arrays(study.pk, readers=readers)) == rows(one)


@pytest.mark.django_db(transaction=True)
def test_the_read_falls_back_to_one_connection_when_no_other_opens(
    make_study, annotators, monkeypatch, caplog
):
    import psycopg

    from evaluation.reports import read_arrays

    study = make_study(neurons=2, k=2)
    rater = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    for pair in NeuronImage.objects.filter(neuron__study=study):
        Judgment.objects.create(rater=rater, neuron_image=pair, verdict="yes")

    def no_more_connections(*args, **kwargs):
        raise psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(read_arrays, "_snapshot_connection", no_more_connections)
    arrays = read_arrays.read_study_arrays(study.pk, readers=2)
    assert len(arrays.item) == 4 and "reading on one connection" in caplog.text
