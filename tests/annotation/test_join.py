"""An account invite: a page that explains, a sign-up or log-in, and a join only on POST."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from annotate.models import Invite, StudyAnnotator


def join_url(study) -> str:
    return reverse("annotation-join", args=[Invite.objects.get(study=study).token])


def test_a_newcomer_signs_up_from_the_invite_and_lands_on_the_annotation_page(client, study):
    url = join_url(study)
    page = client.get(url).content.decode()
    assert "You are invited to annotate" in page and 'name="password2"' in page
    response = client.post(
        url,
        {
            "action": "signup",
            "username": "dana",
            "password1": "x7-Quill-92",
            "password2": "x7-Quill-92",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("annotation-page", args=[study.pk])
    dana = get_user_model().objects.get(username="dana")
    assert StudyAnnotator.objects.filter(study=study, user=dana).exists()
    assert client.get(response["Location"]).status_code == 200  # logged in


def test_a_bad_sign_up_says_why_and_makes_nobody(client, study):
    response = client.post(
        join_url(study),
        {"action": "signup", "username": "dana", "password1": "a", "password2": "b"},
    )
    assert response.status_code == 200 and "didn’t match" in response.content.decode()
    assert not get_user_model().objects.filter(username="dana").exists()


def test_the_join_link_joins_only_on_post(client, study, annotators):
    charlie = annotators["charlie"]
    client.force_login(charlie)
    page = client.get(join_url(study)).content.decode()
    assert "Join as charlie" in page and 'method="post"' in page
    assert not StudyAnnotator.objects.filter(study=study, user=charlie).exists()
    client.post(join_url(study), {"action": "join"})
    assert StudyAnnotator.objects.filter(study=study, user=charlie).exists()


def test_the_login_page_explains_where_accounts_come_from(client, study):
    page = client.get(reverse("login"), {"next": join_url(study)}).content.decode()
    assert "No account yet?" in page and f'href="{join_url(study)}"' in page


def test_an_annotator_on_a_staff_page_is_shown_the_way_to_annotate(client, study, annotators):
    client.force_login(annotators["alice"])
    response = client.get(reverse("study-detail", args=[study.pk]))
    html = response.content.decode()
    assert response.status_code == 403 and "<header" in html  # styled, with the site's layout
    assert f'href="{reverse("annotation-page", args=[study.pk])}"' in html
