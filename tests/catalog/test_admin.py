import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Classifier, License, Maintainer, Package, Release, ReleaseFile, User
from catalog.services.seed import catalog_seed

pytestmark = pytest.mark.django_db

MODELS = [Package, Release, ReleaseFile, Maintainer, License, Classifier, User]


def admin_url(model, action="changelist", *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


@pytest.fixture
def catalog():
    catalog_seed(packages=4, seed=2)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_pages_render_for_staff(staff_client, catalog, model):
    response = staff_client.get(admin_url(model))
    assert response.status_code == 200
    obj = model.objects.order_by("pk").first()
    response = staff_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert str(obj)[:20] in response.content.decode()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_anonymous_users_are_sent_to_login(client, catalog, model):
    response = client.get(admin_url(model))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_package_search_and_filters(staff_client, catalog):
    package = Package.objects.order_by("pk").first()
    response = staff_client.get(admin_url(Package), {"q": package.name})
    assert package.display_name in response.content.decode()
    response = staff_client.get(admin_url(Package), {"license__id__exact": package.license_id})
    assert response.status_code == 200
    classifier = package.classifiers.first().name
    prefix = " :: ".join(classifier.split(" :: ")[:2])
    response = staff_client.get(admin_url(Package), {"classifier": prefix})
    assert package.display_name in response.content.decode()
    response = staff_client.get(admin_url(Release), {"yanked__exact": "1", "prerelease": "yes"})
    assert response.status_code == 200


def test_package_search_matches_a_name_prefix_in_any_spelling(staff_client):
    names = ["open", "open-a", "open-log", "open-log-tools", "open-log2", "openlog", "zz-open-log"]
    for name in names:
        Package.objects.create(display_name=name, summary="s")
    response = staff_client.get(admin_url(Package), {"q": "Open_Log"})
    shown = set(
        re.findall(
            r'<th class="field-display_name"><a href="[^"]*">([^<]*)</a>', response.content.decode()
        )
    )
    assert shown == {"open-log", "open-log-tools", "open-log2"}


def test_package_change_page_shows_releases_and_maintainers_inline(staff_client, catalog):
    package = Package.objects.order_by("pk").first()
    html = staff_client.get(admin_url(Package, "change", package.pk)).content.decode()
    assert package.releases.first().version in html
    assert package.roles.first().user.username in html


def test_staff_can_edit_a_summary(staff_client):
    package = Package.objects.create(display_name="Edit.Me", summary="old")
    url = admin_url(Package, "change", package.pk)
    response = staff_client.get(url)
    form = response.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update(
        {
            "display_name": "Edit.Me",
            "summary": "new summary",
            "project_urls": "{}",
            "last_serial": 0,
            "created_0": "2024-01-01",
            "created_1": "00:00:00",
            "roles-TOTAL_FORMS": 0,
            "roles-INITIAL_FORMS": 0,
            "releases-TOTAL_FORMS": 0,
            "releases-INITIAL_FORMS": 0,
        }
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    package.refresh_from_db()
    assert package.summary == "new summary"


@pytest.mark.parametrize(
    "model", [Package, Release, ReleaseFile, Maintainer, User], ids=lambda m: m.__name__
)
def test_changelist_query_count_is_constant_as_rows_grow(staff_client, model):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert staff_client.get(admin_url(model)).status_code == 200
        return len(ctx)

    catalog_seed(packages=2, seed=5)
    small, rows = count_queries(), model.objects.count()
    Package.objects.all().delete()
    User.objects.exclude(is_staff=True).delete()
    catalog_seed(packages=12, seed=5)
    assert model.objects.count() > rows
    assert count_queries() == small
