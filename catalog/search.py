"""Search terms: computed once when a package is written, looked up when a visitor searches.

Both stores keep the same terms (SQL in ``SearchTerm`` rows indexed on the
term, MongoDB in the package document's ``terms`` array with a multikey
index) and answer a search with the same rules, so both give the same hits in
the same order. No store's full-text feature is used: MongoDB-compatible
servers do not all have text indexes.

A package's terms, each a prefixed string:

- ``=name``: its canonical (PEP 503) name, for the exact-name match;
- ``^pre``: each prefix of the canonical name from 2 to 32 characters (the name
  itself excluded), for "name starts with";
- ``~del``: each string made by deleting one character of a canonical name of
  4 to 32 characters (a deletion neighbourhood): a query within one edit of a
  name (a character missing, added, changed or two swapped) shares a deletion
  with it, whatever the store;
- ``n:stem``: the stemmed words of the name (split on separators and on
  camelCase in the display name);
- ``s:stem``: the stemmed words of the summary and keywords that are not name
  words (common English words left out).

Ranking, the same on both stores: the exact name first (rank 0), then names
that start with the query or hold all its words (1), then names within one
edit of the query (2), then packages whose name, summary or keywords hold
all its words (3); within a rank, the package added to the catalog last
(the highest relational id, kept in documents as ``sql_id``) first: a key
the term rows hold, so ordering a large rank needs no other table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from catalog.versions import canonicalize_name

EXACT = "="
PREFIX = "^"
TYPO = "~"
NAME_WORD = "n:"
TEXT_WORD = "s:"

PREFIX_MIN = 2
PREFIX_MAX = 32
TYPO_MIN = 4
TYPO_MAX = 32
WORD_MAX = 40
# A long summary or keyword list adds at most this many words: the terms stay
# a bounded cost per package.
TEXT_WORDS_MAX = 48
QUERY_WORDS_MAX = 8
# The most packages a typo lookup considers before checking each by edit distance.
TYPO_CANDIDATES_MAX = 500
# The longest term: "=" and a canonical name (names are at most 200 characters).
TERM_MAX_LENGTH = 201

RANK_EXACT, RANK_NAME, RANK_TYPO, RANK_TEXT = 0, 1, 2, 3

STOP_WORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it"}
    | {"its", "of", "on", "or", "that", "the", "this", "to", "with", "you", "your"}
)

_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English Snowball (Porter2) stem of a lowercase word: ``parsers`` -> ``parser``."""
    return _STEMMER.stemWord(word)


def words(text: str | None) -> list[str]:
    """Lowercase words of a text (None: none), in order, without separators."""
    return [w for w in _WORD.findall((text or "").lower()) if len(w) <= WORD_MAX]


def _stems(tokens: list[str], *, drop_stop_words: bool) -> list[str]:
    seen: dict[str, None] = {}
    for token in tokens:
        if drop_stop_words and token in STOP_WORDS:
            continue
        seen.setdefault(stem(token), None)
    return list(seen)


def name_words(*, name: str, display_name: str | None) -> list[str]:
    """Stemmed words of a project name: ``DjangoRestFramework`` gives django, rest, framework."""
    tokens = words(name)
    for part in _WORD.findall(display_name or ""):
        tokens.extend(t.lower() for t in _CAMEL.findall(part) if len(t) <= WORD_MAX)
    return _stems(tokens, drop_stop_words=False)


def deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


def package_terms(
    *, name: str, display_name: str | None, summary: str | None, keywords: str | None
) -> list[str]:
    """Every search term of a package, sorted (the one definition both stores use).

    Missing values (PyPI may publish null for a summary or keywords) have no words.
    """
    terms = {EXACT + name}
    terms.update(
        PREFIX + name[:length] for length in range(PREFIX_MIN, min(len(name), PREFIX_MAX + 1))
    )
    if TYPO_MIN <= len(name) <= TYPO_MAX:
        terms.update(TYPO + d for d in deletions(name))
    in_name = name_words(name=name, display_name=display_name)
    terms.update(NAME_WORD + w for w in in_name)
    text = _stems(words(summary) + words(keywords), drop_stop_words=True)
    named = set(in_name)
    terms.update(TEXT_WORD + w for w in [w for w in text if w not in named][:TEXT_WORDS_MAX])
    return sorted(t for t in terms if len(t) <= TERM_MAX_LENGTH)


@dataclass(frozen=True)
class TermQuery:
    """What a search text looks up, and how a hit ranks."""

    name: str  # the text as a canonical name ("fast json" -> "fast-json")
    exact: str
    prefix: str | None
    stems: tuple[str, ...]
    typo_keys: tuple[str, ...]

    @property
    def name_word_terms(self) -> list[str]:
        return [NAME_WORD + s for s in self.stems]

    @property
    def word_terms(self) -> list[str]:
        """For each word, its term as a name word and as a summary word."""
        return [prefix + s for s in self.stems for prefix in (NAME_WORD, TEXT_WORD)]

    def typo_names(self, candidates: list[str]) -> list[str]:
        """The candidate names within one edit of the query (not the exact name), sorted."""
        return sorted(
            n for n in set(candidates) if n != self.name and within_one_edit(self.name, n)
        )


def term_query(text: str) -> TermQuery | None:
    """The terms a search text looks up; None when it has nothing to look up."""
    name = canonicalize_name(re.sub(r"\s+", "-", text.strip()))
    if not name:
        return None
    stems = _stems(words(text), drop_stop_words=True)[:QUERY_WORDS_MAX]
    if not stems:
        # Only common words ("the"): match them in names, where they are kept.
        stems = _stems(words(text), drop_stop_words=False)[:QUERY_WORDS_MAX]
    keys: set[str] = set()
    if TYPO_MIN <= len(name) <= TYPO_MAX + 1:
        if len(name) <= TYPO_MAX:
            keys.add(TYPO + name)  # a character missing from the query
        for d in deletions(name):
            keys.add(EXACT + d)  # a character too many in the query
            if TYPO_MIN <= len(d) + 1 <= TYPO_MAX:
                keys.add(TYPO + d)  # a character changed, or two swapped
    prefix = PREFIX + name if PREFIX_MIN <= len(name) <= PREFIX_MAX else None
    return TermQuery(
        name=name,
        exact=EXACT + name,
        prefix=prefix,
        stems=tuple(stems),
        typo_keys=tuple(sorted(keys)),
    )


def within_one_edit(a: str, b: str) -> bool:
    """Whether b is a, or a with a character added, removed or changed, or two adjacent swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
