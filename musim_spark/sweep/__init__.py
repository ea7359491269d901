"""The catalog sweep: every track against all originals, with candidate retrieval then exact scoring.

Pure modules (no Spark): :mod:`.plan` (what a run has to do, from what the warehouse holds),
:mod:`.features` (``notes`` rows -> stored features and retrieval keys), :mod:`.scoring` (one query
against its retrieved candidates -> ``matches`` rows), :mod:`.settings`. The Spark module is
:mod:`.stage` (``musim similarity``, ``jobs/similarity.py``); the retrieval arithmetic it runs as
joins is :mod:`musim_spark.retrieval`'s.
"""
