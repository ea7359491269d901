"""``musim run``: every stage, incrementally, in one process and one Spark session: the nightly job.

:func:`.stages.run_pipeline` runs ingest, then (``--source audio``) transcription of new or
changed audio, then the similarity sweep (new queries against all originals, all queries against
new originals), then the export of the labels; :mod:`.command` is its CLI face.
"""
