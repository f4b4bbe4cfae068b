"""The read-only MongoDB document admin (/admin/mongo/) and the package page's sync status."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.documents import PackageDocument, ReleaseDocument, UserDocument
from catalog.models import Package
from tests.migrate.conftest import build_catalog, migrate, snapshot

pytestmark = pytest.mark.django_db

DOCUMENTS = (PackageDocument, ReleaseDocument, UserDocument)


def mongo_url(document, action="changelist", *args):
    opts = document._meta
    return reverse(f"mongo_admin:{opts.app_label}_{opts.model_name}_{action}", args=args)


def detail_url(document, key):
    return mongo_url(document, "change", quote(key))


def package_admin_url(package):
    return reverse("admin:catalog_package_change", args=[package.pk])


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mirrored():
    """Three packages (two releases of two files each) and their users, copied to MongoDB."""
    build_catalog(packages=3, releases=2, files=2)
    migrate()


def listed_keys(response) -> list[str]:
    return [str(doc.pk) for doc in response.context["cl"].result_list]


# --- pages for staff -------------------------------------------------------------


def test_index_lists_the_documents_and_leads_back_to_the_django_admin(staff_client):
    html = staff_client.get(reverse("mongo_admin:index")).content.decode()
    for name in ("Package documents", "Release documents", "User documents"):
        assert name in html
    assert f'href="{reverse("admin:index")}"' in html


def test_django_admin_index_links_to_the_documents(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("mongo_admin:index")}"' in html


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (PackageDocument, ["demo-pkg-0", "Demo_Pkg.2", "Demo package 1"]),
        (ReleaseDocument, ["demo-pkg-1", "1.0.0", "2.0.0rc2"]),
        (UserDocument, ["alice", "bob@example.org"]),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_changelists_render_for_staff(staff_client, mirrored, document, expected):
    response = staff_client.get(mongo_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    for text in expected:
        assert text in html
    # Read-only: no add button, no actions, no delete.
    assert mongo_url(document, "add") not in html
    assert 'name="action"' not in html


def test_package_detail_shows_every_field_and_embedded_documents(staff_client, mirrored):
    response = staff_client.get(detail_url(PackageDocument, "demo-pkg-0"))
    assert response.status_code == 200
    html = response.content.decode()
    stored = PackageDocument._get_collection().find_one({"_id": "demo-pkg-0"})
    for key in stored:
        assert f'id="field-{key}"' in html
    for text in (
        "Demo_Pkg.0",  # display name
        "Demo package 0",  # summary
        "MIT License",  # embedded license
        "https://example.org/0",  # project_urls
        "Programming Language :: Python :: 3",  # classifiers
        "alice",  # embedded maintainers
        "bob",
        "owner",
        stored["checksum"],
    ):
        assert text in html
    # Embedded values link to their own documents and to the relational row.
    assert f'href="{detail_url(UserDocument, "alice")}"' in html
    assert f'href="{detail_url(ReleaseDocument, "demo-pkg-0==1.0.0")}"' in html  # latest
    assert f'href="{package_admin_url(Package.objects.get(name="demo-pkg-0"))}"' in html
    # No form, no buttons.
    assert "<form" not in html.split('id="content"')[1].split('id="footer"')[0]
    assert "deletelink" not in html


def test_release_detail_shows_its_embedded_files(staff_client, mirrored):
    key = "demo-pkg-1==2.0.0rc1"
    html = staff_client.get(detail_url(ReleaseDocument, key)).content.decode()
    stored = ReleaseDocument._get_collection().find_one({"_id": key})
    assert len(stored["files"]) == 2
    for file in stored["files"]:
        assert file["filename"] in html
        assert file["sha256"] in html
        assert str(file["size"]) in html
    assert "sdist" in html
    assert f'href="{detail_url(PackageDocument, "demo-pkg-1")}"' in html


def test_user_detail_never_shows_a_password_hash(staff_client):
    build_catalog(packages=1, releases=1, files=1)
    migrate("--include-credentials")
    stored = UserDocument._get_collection().find_one({"_id": "alice"})
    assert stored["password"]
    html = staff_client.get(detail_url(UserDocument, "alice")).content.decode()
    assert "alice@example.org" in html
    assert stored["password"] not in html
    assert "set (not shown)" in html


def test_history_page_renders(staff_client, mirrored):
    response = staff_client.get(mongo_url(PackageDocument, "history", "demo-pkg-0"))
    assert response.status_code == 200


def test_unknown_document_is_a_404(staff_client, mirrored):
    assert staff_client.get(detail_url(PackageDocument, "no-such-thing")).status_code == 404


# --- search and filters ---------------------------------------------------------


def test_search_matches_words_in_any_search_field(staff_client, mirrored):
    response = staff_client.get(mongo_url(PackageDocument), {"q": "package 1"})
    assert listed_keys(response) == ["demo-pkg-1"]
    response = staff_client.get(mongo_url(PackageDocument), {"q": "DEMO_PKG"})
    assert listed_keys(response) == ["demo-pkg-0", "demo-pkg-1", "demo-pkg-2"]
    response = staff_client.get(mongo_url(ReleaseDocument), {"q": "demo-pkg-2 rc"})
    assert listed_keys(response) == ["demo-pkg-2==2.0.0rc2"]
    # Embedded fields are searchable too.
    response = staff_client.get(mongo_url(ReleaseDocument), {"q": "demo-pkg-0-1.0.0-1.tar.gz"})
    assert listed_keys(response) == ["demo-pkg-0==1.0.0"]


@pytest.mark.parametrize("term", [".*", '{"$gt": ""}', "^", "[", "$where", "demo|x"])
def test_search_text_is_taken_literally(staff_client, mirrored, term):
    response = staff_client.get(mongo_url(PackageDocument), {"q": term})
    assert response.status_code == 200
    assert listed_keys(response) == []
    # A package whose summary holds that very text is found.
    PackageDocument._get_collection().update_one(
        {"_id": "demo-pkg-1"}, {"$set": {"summary": f"matches {term} literally"}}
    )
    response = staff_client.get(mongo_url(PackageDocument), {"q": term})
    assert listed_keys(response) == ["demo-pkg-1"]


@pytest.mark.parametrize(
    "params",
    [{"summary__regex": ".*"}, {"name__ne": "x"}, {"release_count__gt": "0"}, {"__raw__": "{}"}],
    ids=lambda p: next(iter(p)),
)
def test_query_string_lookups_are_refused(staff_client, mirrored, params):
    assert staff_client.get(mongo_url(PackageDocument), params).status_code == 400


def test_releases_filter_by_exact_package(staff_client, mirrored):
    response = staff_client.get(mongo_url(ReleaseDocument), {"package": "demo-pkg-1"})
    assert listed_keys(response) == ["demo-pkg-1==2.0.0rc1", "demo-pkg-1==1.0.0"]
    assert "package = demo-pkg-1" in response.content.decode()
    response = staff_client.get(mongo_url(ReleaseDocument), {"package": ".*"})
    assert listed_keys(response) == []
    assert staff_client.get(mongo_url(ReleaseDocument), {"package__ne": "x"}).status_code == 400


def test_changelist_reads_one_page(staff_client):
    build_catalog(packages=60, releases=1, files=0)
    migrate()
    first = staff_client.get(mongo_url(PackageDocument))
    cl = first.context["cl"]
    assert cl.result_count == 60
    assert len(listed_keys(first)) == 50
    assert cl.result_list._limit == 50  # skip/limit in MongoDB, not a slice in Python
    second = staff_client.get(mongo_url(PackageDocument), {"p": 2})
    assert len(listed_keys(second)) == 10
    assert set(listed_keys(first)).isdisjoint(listed_keys(second))


def test_changelist_cost_does_not_grow_with_the_collection(staff_client, mongo_commands):
    def cost():
        mongo_commands.clear()
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(mongo_url(PackageDocument)).status_code == 200
        return len(queries), sorted(command for _, command in mongo_commands)

    build_catalog(packages=3, releases=1, files=0)
    migrate()
    small = cost()
    # One count, for the paginator: no second count of the unfiltered collection
    # (estimated_document_count is the server's count command).
    assert small[1].count("count") == 1
    for n in range(70):
        Package.objects.create(display_name=f"more-{n}", summary="more")
    migrate()
    assert PackageDocument.objects.count() > 50
    assert cost() == small


# --- who may enter ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        lambda: reverse("mongo_admin:index"),
        lambda: mongo_url(PackageDocument),
        lambda: detail_url(PackageDocument, "demo-pkg-0"),
    ],
    ids=["index", "changelist", "detail"],
)
def test_anonymous_users_are_sent_to_the_admin_login(client, mirrored, url):
    response = client.get(url(), follow=True)
    final, status = response.redirect_chain[-1]
    assert status == 302
    assert final.startswith(reverse("admin:login") + "?")
    assert "next=" in final
    assert response.status_code == 200
    assert "Demo package 0" not in response.content.decode()
    assert response.context["form"] is not None  # the Django admin's login form


def test_users_who_are_not_staff_are_refused(client, django_user_model, mirrored):
    user = django_user_model.objects.create_user(username="visitor", password="pw-visitor")
    client.force_login(user)
    response = client.get(detail_url(PackageDocument, "demo-pkg-0"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
    html = response.content.decode()
    assert "not authorized to access this page" in html
    assert "Demo package 0" not in html


# --- nothing can be written --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "args"),
    [("change", ("demo-pkg-0",)), ("delete", ("demo-pkg-0",)), ("add", ())],
)
def test_posts_are_refused_and_change_nothing(staff_client, mirrored, action, args):
    before = snapshot()
    url = mongo_url(PackageDocument, action, *args)
    response = staff_client.post(url, {"summary": "changed", "post": "yes", "name": "new"})
    assert response.status_code == 403
    assert snapshot() == before


def test_delete_and_add_pages_are_refused(staff_client, mirrored):
    assert staff_client.get(mongo_url(PackageDocument, "delete", "demo-pkg-0")).status_code == 403
    assert staff_client.get(mongo_url(PackageDocument, "add")).status_code == 403


# --- the package's sync status in the Django admin -------------------------------------


def test_package_page_shows_in_sync_differs_and_missing(staff_client, mirrored):
    package = Package.objects.get(name="demo-pkg-1")
    html = staff_client.get(package_admin_url(package)).content.decode()
    assert "In sync" in html
    assert "2 stored</a>, 2 expected" in html
    assert f'href="{detail_url(PackageDocument, "demo-pkg-1")}"' in html

    collection = PackageDocument._get_collection()
    collection.update_one({"_id": "demo-pkg-1"}, {"$set": {"summary": "tampered"}})
    html = staff_client.get(package_admin_url(package)).content.decode()
    assert "Differs" in html
    assert f'href="{detail_url(PackageDocument, "demo-pkg-1")}#field-summary"' in html
    assert "<code>summary</code>" in html

    collection.delete_one({"_id": "demo-pkg-1"})
    ReleaseDocument._get_collection().delete_one({"_id": "demo-pkg-1==1.0.0"})
    html = staff_client.get(package_admin_url(package)).content.decode()
    assert "Missing" in html
    assert "1 stored</a>, 2 expected" in html


def test_package_changelist_does_not_read_mongodb(staff_client, mirrored, mongo_commands):
    response = staff_client.get(reverse("admin:catalog_package_changelist"))
    assert response.status_code == 200
    assert mongo_commands == []


def test_add_package_page_has_no_document_status(staff_client):
    html = staff_client.get(reverse("admin:catalog_package_add")).content.decode()
    assert "In sync" not in html and "Missing" not in html


def test_system_checks_pass_with_the_document_admin():
    call_command("check")
