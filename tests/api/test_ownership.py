"""Study ownership: the creator owns a study, owners manage its members, staff without a
role see nothing of it, and a study with human judgments is archived, never deleted."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.models import Study, StudyAnnotator, StudyRole
from evaluation.models import EvaluationRun, Judgment, Rater

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    User = get_user_model()
    names = ("olga", "manny", "vera", "nora")
    users = {name: User.objects.create_user(name, is_staff=True) for name in names}
    users["root"] = User.objects.create_user("root", is_staff=True, is_superuser=True)
    users["alice"] = User.objects.create_user("alice")
    return users


@pytest.fixture
def as_(people):
    def client(name: str) -> APIClient:
        api = APIClient()
        api.force_authenticate(people[name])
        return api

    return client


@pytest.fixture
def study(make_study, people):
    """Owned by olga, managed by manny, viewed by vera; alice annotates it; nora is staff."""
    study = make_study("owned", neurons=2, k=2)
    for name, role in (("olga", "owner"), ("manny", "manager"), ("vera", "viewer")):
        StudyRole.objects.create(study=study, user=people[name], role=role)
    StudyAnnotator.objects.create(study=study, user=people["alice"])
    return study


def judge(study, user, verdict="yes") -> Judgment:
    rater, _ = Rater.objects.get_or_create(
        user=user, defaults={"name": f"human:{user.username}", "kind": "human"}
    )
    pair = study.neurons.first().images.first()
    return Judgment.objects.create(rater=rater, neuron_image=pair, verdict=verdict)


def test_the_creator_of_a_study_is_its_owner(as_, people):
    created = as_("nora").post(
        "/api/studies/", {"name": "n", "target_network": "t", "probe_dataset": "p"}
    )
    assert created.status_code == 201
    study = Study.objects.get(pk=created.json()["id"])
    assert list(study.roles.values_list("user__username", "role")) == [("nora", "owner")]
    assert created.json()["owner"] == "nora"


def test_a_study_imported_on_the_page_belongs_to_whoever_imported_it(people):
    from annotate.importers.upload import StudyUpload, do_import_study_upload

    labels = b"layer,unit,description\nl1,0,dog\n"
    upload = StudyUpload("up", "t", "p", method="other", k=5, notes="", labels=labels)
    study, _ = do_import_study_upload(upload, owner=people["vera"])
    assert list(study.roles.values_list("user__username", "role")) == [("vera", "owner")]


def test_staff_without_a_role_get_the_same_404_as_for_a_study_that_does_not_exist(as_, study):
    missing = Study.objects.order_by("-pk").first().pk + 1000
    nora = as_("nora")
    for url in ("/api/studies/{}/", "/api/studies/{}/members/", "/api/reports/{}/"):
        theirs, none = nora.get(url.format(study.pk)), nora.get(url.format(missing))
        assert theirs.status_code == none.status_code == 404
        assert theirs.json() == none.json() == {"detail": "No such study."}
    patch = nora.patch(f"/api/studies/{study.pk}/", {"name": "mine"}, format="json")
    assert patch.status_code == 404
    assert nora.delete(f"/api/studies/{study.pk}/").status_code == 404
    assert Study.objects.get(pk=study.pk).name == "owned"


def test_lists_show_staff_only_the_studies_they_are_members_of(as_, study, people):
    model = Rater.objects.create(name="es", kind="openclip_es")
    EvaluationRun.objects.create(rater=model, study=study, status="done")
    judge(study, people["alice"])
    for name, seen in (("nora", 0), ("vera", 1), ("root", 1)):
        api = as_(name)
        assert api.get("/api/studies/").json()["count"] == seen
        assert api.get("/api/runs/").json()["count"] == seen
        assert api.get("/api/judgments/").json()["count"] == seen
        assert api.get("/api/neurons/").json()["count"] == 2 * seen


def test_the_cross_study_table_lists_only_the_members_studies(client, study, people):
    judge(study, people["alice"])
    url = reverse("cross-study-report")
    for name, seen in (("nora", set()), ("vera", {study.pk})):
        client.force_login(people[name])
        rows = client.get(url, {"format": "json"}).json()
        assert {row["study_id"] for row in rows} == seen, name


def test_a_viewer_reads_but_may_not_change_import_or_run(as_, study):
    vera = as_("vera")
    assert vera.get(f"/api/studies/{study.pk}/").status_code == 200
    refused = vera.patch(f"/api/studies/{study.pk}/", {"notes": "x"}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Your role on this study does not allow this (needs manage)."
    }
    model = Rater.objects.create(name="es", kind="openclip_es")
    run = vera.post("/api/runs/", {"study": study.pk, "rater": model.pk}, format="json")
    assert run.status_code == 403
    assert not EvaluationRun.objects.exists()


def test_a_manager_changes_the_study_but_may_not_delete_it_or_change_members(as_, study):
    manny = as_("manny")
    assert (
        manny.patch(f"/api/studies/{study.pk}/", {"notes": "x"}, format="json").json()["notes"]
        == "x"
    )
    assert manny.delete(f"/api/studies/{study.pk}/").status_code == 403
    added = manny.post(f"/api/studies/{study.pk}/members/", {"user": "nora", "role": "owner"})
    assert added.status_code == 403
    assert Study.objects.filter(pk=study.pk).exists()
    assert not StudyRole.objects.filter(user__username="nora").exists()


def test_the_owner_adds_changes_and_removes_members(as_, study):
    olga, nora = as_("olga"), as_("nora")
    url = f"/api/studies/{study.pk}/members/"
    assert olga.post(url, {"user": "nora", "role": "viewer"}).json() == [
        {"user": "olga", "role": "owner"},
        {"user": "manny", "role": "manager"},
        {"user": "nora", "role": "viewer"},
        {"user": "vera", "role": "viewer"},
    ]
    assert nora.get(f"/api/studies/{study.pk}/").status_code == 200
    assert nora.patch(f"/api/studies/{study.pk}/", {"notes": "x"}).status_code == 403
    olga.post(url, {"user": "nora", "role": "manager"})
    assert nora.patch(f"/api/studies/{study.pk}/", {"notes": "x"}).status_code == 200
    assert nora.get(url).status_code == 200  # any member reads the list
    removed = olga.delete(f"{url}nora/")
    assert removed.status_code == 200
    assert {"user": "nora", "role": "manager"} not in removed.json()
    assert nora.get(f"/api/studies/{study.pk}/").status_code == 404


NOT_STAFF = "alice is not staff: annotators join through invite links."
LAST_OWNER = "A study keeps at least one owner: make someone else owner first."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"user": "alice", "role": "viewer"}, NOT_STAFF),
        ({"user": "ghost", "role": "viewer"}, "There is no active user called 'ghost'."),
        ({"user": "olga", "role": "viewer"}, LAST_OWNER),
    ],
)
def test_a_refused_member_change_says_why_and_changes_nothing(as_, study, body, message):
    before = list(StudyRole.objects.order_by("pk").values_list("user_id", "role"))
    response = as_("olga").post(f"/api/studies/{study.pk}/members/", body)
    assert (response.status_code, response.json()) == (400, {"detail": message})
    assert list(StudyRole.objects.order_by("pk").values_list("user_id", "role")) == before


def test_the_last_owner_cannot_be_removed(as_, study):
    response = as_("root").delete(f"/api/studies/{study.pk}/members/olga/")
    assert response.status_code == 400
    assert StudyRole.objects.filter(study=study, role="owner").count() == 1


def test_a_study_without_human_judgments_is_deleted_by_its_owner(as_, study):
    Judgment.objects.create(
        rater=Rater.objects.create(name="es", kind="openclip_es"),
        neuron_image=study.neurons.first().images.first(),
        verdict="no",
    )
    assert as_("olga").delete(f"/api/studies/{study.pk}/").status_code == 204
    assert not Study.objects.filter(pk=study.pk).exists()


def test_a_study_with_human_judgments_is_archived_on_confirmation_never_deleted(as_, study, people):
    judge(study, people["alice"])
    judge(study, people["olga"], "no")
    olga = as_("olga")
    refused = olga.delete(f"/api/studies/{study.pk}/")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "This study has 2 human judgment(s), so it is archived, not deleted: "
        "send confirm='owned' to archive it. Its data are kept."
    }
    assert olga.delete(f"/api/studies/{study.pk}/?confirm=wrong").status_code == 409
    assert Study.objects.get(pk=study.pk).archived_at is None

    archived = olga.delete(f"/api/studies/{study.pk}/?confirm=owned")
    assert (archived.status_code, archived.json()) == (
        200,
        {"archived": True, "human_judgments": 2},
    )
    kept = Study.objects.get(pk=study.pk)
    assert kept.archived_at is not None and kept.archived_by == people["olga"]
    assert Judgment.objects.filter(study=study).count() == 2
    assert olga.get(f"/api/studies/{study.pk}/").status_code == 404
    assert olga.get("/api/studies/").json()["count"] == 0
    assert as_("alice").post(f"/api/annotate/{study.pk}/next/").status_code == 404


def test_a_superuser_archives_with_a_json_confirmation(as_, study, people):
    judge(study, people["alice"])
    response = as_("root").delete(f"/api/studies/{study.pk}/", {"confirm": "owned"}, format="json")
    assert response.status_code == 200
    assert Study.objects.get(pk=study.pk).archived_at is not None


def test_a_superuser_restores_an_archived_study_in_the_admin(client, study, people):
    from django.utils import timezone

    Study.objects.filter(pk=study.pk).update(archived_at=timezone.now())
    client.force_login(people["root"])
    response = client.post(
        reverse("admin:annotate_study_changelist"),
        {"action": "restore", "_selected_action": [study.pk]},
    )
    assert response.status_code == 302
    assert Study.objects.get(pk=study.pk).archived_at is None
    client.force_login(people["vera"])
    assert client.get(reverse("study-detail", args=[study.pk])).status_code == 200


def test_invite_links_of_an_archived_study_stop_working(client, study, people):
    from django.utils import timezone

    from annotate.annotation.members import do_create_invite

    invite = do_create_invite(study, people["olga"])
    Study.objects.filter(pk=study.pk).update(archived_at=timezone.now())
    client.force_login(people["nora"])
    assert client.get(reverse("annotation-join", args=[invite.token])).status_code == 404
    assert not StudyAnnotator.objects.filter(user=people["nora"]).exists()


def test_the_study_page_shows_members_and_your_role(client, study, people):
    client.force_login(people["vera"])
    html = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert (
        'Members: olga <span class="tag">owner</span>, manny <span class="tag">manager</span>, '
        'vera <span class="tag">viewer</span> · you: viewer'
    ) in html
    manage, start = (
        reverse("annotation-manage", args=[study.pk]),
        reverse("run-start", args=[study.pk]),
    )
    assert manage not in html and start not in html  # a viewer gets no controls to change it
    client.force_login(people["manny"])
    html = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert manage in html and start in html and "you: manager" in html


def test_the_manage_page_is_for_owners_and_managers(client, study, people):
    url = reverse("annotation-manage", args=[study.pk])
    for name, status in (("manny", 200), ("vera", 403), ("nora", 404), ("alice", 403)):
        client.force_login(people[name])
        assert client.get(url).status_code == status, name


def test_import_labels_on_the_command_line_names_the_owner(tmp_path, people):
    from django.core.management import CommandError, call_command

    labels = tmp_path / "labels.csv"
    labels.write_text("layer,unit,description\nl1,0,dog\n")
    common = ["--network", "t", "--probe-dataset", "p", "--method", "other"]
    with pytest.raises(CommandError, match="--owner: no active staff member called 'alice'"):
        call_command("import_labels", str(labels), "--study", "cli", *common, "--owner", "alice")
    assert not Study.objects.filter(name="cli").exists()
    call_command("import_labels", str(labels), "--study", "cli", *common, "--owner", "vera")
    study = Study.objects.get(name="cli")
    assert study.owner == people["vera"]
    assert list(study.roles.values_list("user__username", "role")) == [("vera", "owner")]
