"""Ingest (issue 5): a data-set root, or split zip parts, into Delta tables.

Modules, one concern each:

- :mod:`.delivery` — a plain root, or split zip parts to land first (:func:`~.delivery.resolve_root`).
- :mod:`.scan` — driver: list the root (stat only) and group files into tracks.
- :mod:`.zipparts` — split zip input, read through the parts and landed safely and incrementally.
- :mod:`.wavheader` — RIFF/WAVE header facts without decoding audio.
- :mod:`.parse` — pure: one track's files to rows, or to quarantine rows (runs in Spark tasks).
- :mod:`.incremental` — pure: what a run must do given what earlier runs recorded.
- :mod:`.rows` — pure: the Arrow batches of the parse tasks (descriptors in, nested table rows out).
- :mod:`.settings` — the ``ingest:`` section of conf.
- :mod:`.stage` — :func:`~.stage.run_ingest`, the Spark stage (its only module that imports pyspark).
- :mod:`.command` — ``musim ingest``.

Importing this package does not import pyspark.
"""

__all__: list[str] = []
