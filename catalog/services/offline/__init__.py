"""Offline batch jobs over a MongoDB collection: walk, compute, write back, checkpoint.

The runner walks a collection in ``_id`` ranges: every batch is a fresh
``find({"_id": {"$gt": last}}).sort("_id", 1).limit(n)``, so no cursor stays
open across the collection and nothing uses skip. Each batch is computed by
the job, written with unordered bulk writes, then checkpointed in
``job_checkpoints``; ``resume=True`` starts after the last checkpointed
``_id``. Jobs only write what changed, so a batch that was written but not
checkpointed (a crash in between) is redone without effect, and an
interrupted, resumed run ends identical to an uninterrupted one.

Limit: ``_id`` range walks compare within one BSON type; the catalog's
collections use string ids throughout.

The modules: ``walk`` (the ``_id`` range walk and ``--where`` filters),
``jobs`` (the job registry and what each job computes per batch), ``licenses``
(license names to SPDX identifiers, for ``normalize``) and ``runner``
(``job_run``: batches, writes, checkpoints).
"""
