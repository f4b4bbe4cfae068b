"""Import documents in the format of PyPI's JSON API (``/pypi/<name>/json``).

Each document is validated completely before anything is written, then the
package with all its releases and files is written in one transaction: a bad
document is reported (file, field, reason) and skipped, never half-written.
Values are stored as published (nulls stay null) and served back unchanged by
the JSON API; derived values (the display license, sort keys) sit beside them.
A project document is the whole state of the package: importing it twice
changes nothing, and a newer document (higher ``last_serial``) updates exactly
what differs, including releases and files that disappeared from it. A
per-version document describes one release and removes nothing else.

The modules: ``validation`` (a document checked field by field into
``PackageData``), ``writing`` (one package written in a transaction) and
``run`` (``package_import``: reading files, the report).
"""
