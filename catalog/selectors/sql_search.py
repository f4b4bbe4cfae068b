"""Search on the relational catalog: filters, and text ranked on the SearchTerm rows."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from catalog import search
from catalog.models import Package, SearchTerm
from catalog.selectors.common import license_terms, search_page_check, search_window
from catalog.selectors.prepared import PreparedQuery
from catalog.selectors.sql import (
    list_items,
    list_items_of,
    list_values,
    newest_order,
)
from catalog.selectors.types import SEARCH_PER_PAGE, PackageListItem, SearchPage, SearchQuery

# One result page's packages by id: prepared with a full page of ids, a
# shorter page padded with an id no row has.
_PAGE_IDS = tuple(f"id{n}" for n in range(SEARCH_PER_PAGE))
_NO_ID = -1
_PAGE_ITEMS = PreparedQuery(
    lambda **ids: list_values(Package.objects.filter(pk__in=list(ids.values())), "pk"),
    params=_PAGE_IDS,
    kinds=(int,) * SEARCH_PER_PAGE,
)


def _list_items_by_pk(pks: list[int]) -> dict[int, PackageListItem]:
    """The list items of up to one page of packages, by id."""
    if not pks:
        return {}
    rows = _PAGE_ITEMS.rows(*pks, *[_NO_ID] * (SEARCH_PER_PAGE - len(pks)))
    return {
        row[0]: item for row, item in zip(rows, list_items_of(r[1:] for r in rows), strict=True)
    }


def _classifier_links(classifier: str):
    # A filter matches the classifier itself and everything below it.
    return Package.classifiers.through.objects.filter(
        Q(classifier__name=classifier) | Q(classifier__name__startswith=classifier + " :: ")
    )


def _filtered_count(query: SearchQuery, packages) -> int:
    """How many packages pass the filters: from the classifier links alone when they suffice
    (joining each link to its package row would cost one lookup per hit)."""
    if not query.classifiers or query.license:
        return packages.count()
    linked = [_classifier_links(c).values("package_id").order_by() for c in query.classifiers]
    if len(linked) == 1:
        return linked[0].distinct().count()
    return linked[0].intersection(*linked[1:]).count()


def _filtered(query: SearchQuery):
    """Packages that pass the search's classifier and license filters."""
    packages = Package.objects.all()
    for classifier in query.classifiers:
        packages = packages.filter(
            Exists(_classifier_links(classifier).filter(package_id=OuterRef("pk")))
        )
    if query.license:
        by_name, by_classifier = Q(), Q()
        for term in license_terms(query.license):
            by_name |= (
                Q(license__name__iexact=term)
                | Q(license__spdx_id__iexact=term)
                # One identifier of an SPDX expression ("MIT" in "MIT OR Apache-2.0").
                | Q(license_expression__iregex=r"(^|[ ()])" + re.escape(term) + r"($|[ ()])")
            )
            by_classifier |= Q(classifier__name__iexact=term) | (
                Q(classifier__name__istartswith="License ::")
                & Q(classifier__name__iendswith=" :: " + term)
            )
        packages = packages.filter(
            by_name
            | Exists(
                Package.classifiers.through.objects.filter(package_id=OuterRef("pk")).filter(
                    by_classifier
                )
            )
        )
    return packages


def package_search(*, query: SearchQuery) -> SearchPage:
    search_page_check(query.page)
    packages = _filtered(query)
    terms = search.term_query(query.text) if query.text else None
    if terms is not None:
        return _ranked_search(query, terms, packages)
    total = _filtered_count(query, packages)
    offset, limit, num_pages = search_window(total=total, page=query.page)
    if query.order == "-updated":
        packages = packages.order_by(*newest_order("updated", "name"))
    else:
        packages = packages.order_by("name")
    return SearchPage(
        results=list_items(packages[offset : offset + limit]) if total else [],
        total=total,
        page=query.page,
        num_pages=num_pages,
    )


def _typo_names(terms: search.TermQuery) -> list[str]:
    if not terms.typo_keys:
        return []
    candidates = (
        SearchTerm.objects.filter(term__in=terms.typo_keys)
        .order_by("package__name")
        .values_list("package__name", flat=True)
        .distinct()[: search.TYPO_CANDIDATES_MAX]
    )
    return terms.typo_names(list(candidates))


# Bits a matching term sets in a package's flags (terms are unique per package,
# so their sum is their union).
_EXACT, _PREFIX, _TYPO = 1, 2, 4


def _term_table(terms: search.TermQuery, typos: list[str]) -> tuple[str, list]:
    """The looked-up terms as rows (term, flags, name word, word) of a VALUES list ``q``."""
    rows: dict[str, tuple[int, int, int]] = {terms.exact: (_EXACT, 0, 0)}
    if terms.prefix:
        rows[terms.prefix] = (_PREFIX, 0, 0)
    for name in typos:
        rows[search.EXACT + name] = (_TYPO, 0, 0)
    # A package has one term per word: as a name word or as a summary word.
    for stem in terms.stems:
        rows[search.NAME_WORD + stem] = (0, 1, 1)
        rows[search.TEXT_WORD + stem] = (0, 0, 1)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [value for term, flags in sorted(rows.items()) for value in (term, *flags)]
    # A named CTE: SQLite has no column names for a VALUES table in FROM.
    return f"WITH q (term, flags, name_word, word) AS (VALUES {values}) ", params


def _candidates(terms: search.TermQuery, typos: list[str], term_table: str) -> tuple[str, list]:
    """With several words, only packages that can be hits are grouped.

    They have a name term, or every word (the intersection of each word's
    packages): grouping the rows of all packages having any one common word
    would cost what the most common word costs.
    """
    if len(terms.stems) < 2:
        return "", []
    names = [
        terms.exact,
        *([terms.prefix] if terms.prefix else []),
        *(search.EXACT + n for n in typos),
    ]
    each_word = " INTERSECT ".join(
        f"SELECT package_id FROM {term_table} WHERE term IN (%s, %s)"  # noqa: S608
        for _ in terms.stems
    )
    sql = (
        f" WHERE t.package_id IN (SELECT package_id FROM {term_table} "  # noqa: S608
        f"WHERE term IN ({', '.join(['%s'] * len(names))}) "
        f"UNION SELECT package_id FROM ({each_word}) AS w)"
    )
    params = names + [t for s in terms.stems for t in (search.NAME_WORD + s, search.TEXT_WORD + s)]
    return sql, params


def _ranked_search(query: SearchQuery, terms: search.TermQuery, packages) -> SearchPage:
    """A text search on the SearchTerm rows: hits, their rank and the total in one statement.

    Term rows are grouped per package into a few integers (no text compared
    after the index lookup); within a rank the newest package (highest id)
    comes first, so only the page's rows are joined to their packages.
    """
    typos = _typo_names(terms)
    values, params = _term_table(terms, typos)
    words = len(terms.stems)
    rank = (
        f"CASE WHEN h.flags & {_EXACT} = {_EXACT} THEN {search.RANK_EXACT}"
        f" WHEN h.flags & {_PREFIX} = {_PREFIX}"
        + (f" OR h.name_words = {words}" if words else "")
        + f" THEN {search.RANK_NAME}"
        f" WHEN h.flags & {_TYPO} = {_TYPO} THEN {search.RANK_TYPO}"
        + (f" WHEN h.words = {words} THEN {search.RANK_TEXT}" if words else "")
        + " END"
    )
    quote = connection.ops.quote_name
    term_table, package_table = quote(SearchTerm._meta.db_table), quote(Package._meta.db_table)
    where, where_params = "", []
    if packages.query.where:
        filtered, where_params = packages.order_by().values("pk").query.sql_with_params()
        where = f" WHERE h.package_id IN ({filtered})"
    # Only integers and fixed SQL text are formatted in; terms and filters are parameters.
    candidates, candidate_params = _candidates(terms, typos, term_table)
    hits = (
        f"SELECT h.package_id, {rank} AS rank FROM ("  # noqa: S608
        f"SELECT t.package_id, SUM(q.flags) AS flags, SUM(q.name_word) AS name_words, "
        f"SUM(q.word) AS words FROM {term_table} t "
        f"JOIN q ON q.term = t.term{candidates} "
        f"GROUP BY t.package_id) h{where}"
    )
    params += [*candidate_params, *where_params]
    updated = (
        "date_trunc('milliseconds', p.updated)"
        if connection.vendor == "postgresql"
        else "substr(p.updated, 1, 23)"
    )
    if query.order in ("name", "-updated"):
        order = "p.name" if query.order == "name" else f"{updated} DESC, p.name"
        page_sql = (
            f"{values}SELECT r.package_id, COUNT(*) OVER () FROM ({hits}) r "  # noqa: S608
            f"JOIN {package_table} p ON p.id = r.package_id "
            f"WHERE r.rank IS NOT NULL ORDER BY {order}"
        )
    else:
        page_sql = (
            f"{values}SELECT r.package_id, COUNT(*) OVER () FROM ({hits}) r "  # noqa: S608
            f"WHERE r.rank IS NOT NULL ORDER BY r.rank, r.package_id DESC"
        )
    offset = (query.page - 1) * SEARCH_PER_PAGE
    with connection.cursor() as cursor:
        cursor.execute(page_sql + " LIMIT %s OFFSET %s", [*params, SEARCH_PER_PAGE, offset])
        rows = cursor.fetchall()
        if rows:
            total = rows[0][1]
        elif offset:
            cursor.execute(
                f"{values}SELECT COUNT(*) FROM ({hits}) r WHERE r.rank IS NOT NULL",  # noqa: S608
                params,
            )
            total = cursor.fetchone()[0]
        else:
            total = 0
    _, _, num_pages = search_window(total=total, page=query.page)
    ids = [package_id for package_id, _ in rows]
    items = _list_items_by_pk(ids)
    return SearchPage(
        results=[items[i] for i in ids], total=total, page=query.page, num_pages=num_pages
    )
