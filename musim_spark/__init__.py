"""musim-spark: catalog-scale, explainable music similarity on Spark and Delta.

Modules
-------
layout
    Track ids and the data set's folder layout.
errors
    The exception hierarchy and quarantine reason codes.
config
    ``conf/*.yaml`` (over the packaged ``resources/defaults.yaml``) parsed into frozen settings.
model
    ``Note``/``Track``/``Piece``: notes in seconds, the engine's input.
midi
    MIDI files to :class:`~musim_spark.model.Piece` and back.
sections
    :class:`~musim_spark.sections.Section`: one matching section, and its label, interface, truth
    and table-row spellings.
notation
    Pitch-class and note names.
labels
    Label JSON: read (lenient), validate (schema), write.
runs
    Run ids (pure).
io
    Delta tables: the contract (``io.tables``), one write plan (``io.plan``), Parquet files,
    the delta-rs commit, readers, the Spark writer (``io.spark_io``), the ``runs`` table.
spark
    The Spark session, built from configuration.
sampledata
    Generated data sets in the real layout, with covers, audio, truth and faults.
ingest
    The ingest stage: files to Delta tables, incremental, with quarantine.
similarity
    Melody, rhythm and chord similarity with matching sections.

Pure modules never import pyspark; only the Spark modules (``spark``, ``io.spark_io``,
``ingest.stage``) do, which ``tests/test_purity.py`` checks in the source.
"""

__version__ = "0.1.0"
