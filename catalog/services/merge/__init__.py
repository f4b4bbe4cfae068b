"""Merge documents from several named sources into one MongoDB collection.

Sources are JSON / JSON Lines files, MongoDB collections (walked in ``_id``
ranges) or the relational catalog (through ``catalog.mapping``). Records are
matched on a key of one or more top-level fields after a named normalization,
and combined by a policy. The policy names shared with MongoDB's ``$merge``
keep their meaning there; the target collection's current document is what an
incoming document is "matched" against first:

- ``replace``: the incoming document replaces the one it matches;
- ``keep_existing``: the first document for a key (the target's, else the
  first source's) is kept;
- ``merge``: field level, incoming fields overwrite, others are kept;
- ``fail``: a match that would change a field is a conflict;
- ``newest``: field by field, the value from the document with the latest
  ``updated`` wins (the target's document takes part); equal timestamps with
  different values are a conflict;
- ``priority``: field by field, the first source in the priority order that
  has the field wins (the target's document comes last).

A key with a conflict is not written; its conflict goes to the report and to
the conflicts collection with every value. Every written document carries
``provenance`` (contributing sources, policy, when). A document whose merged
content equals the target's is not written, so a second identical run writes
nothing. Fields are compared at the top level: an embedded document is one
value.

The modules, in the order a merge uses them:

- ``sources``: reading the sources (files, collections, the relational
  catalog) into records;
- ``keys``: a record's key, checked and normalized, and the record as a
  contribution to that key;
- ``policies``: combining the contributions of one key (and the target's
  document) by policy, with the conflicts that leaves;
- ``target``: the collection written to (which names a merge may write,
  looking up current documents, the bulk writes);
- ``orchestration``: ``sources_merge``, which runs the above per key and
  records provenance and the conflict report;
- ``results``: the report (counts, malformed records, conflicts, changes).
"""
