"""The migration between the relational catalog and MongoDB, both ways.

- ``state``: run results, ``(updated, pk)`` marks and the ``migration_state`` checkpoints;
- ``specs``: the collections, how each is built and walked;
- ``writer``: one batch of documents written in bulk (and a primary-key range of batches);
- ``to_mongo``: ``catalog_migrate`` (full, incremental, resumable runs) and the live
  sync's write path, ``documents_sync``;
- ``workers``: the processes of ``--workers N``;
- ``verify``: ``catalog_verify``, document by document;
- ``from_mongo`` (with ``from_mongo_rows``): ``catalog_migrate_from_mongo``, the rollback.
"""
