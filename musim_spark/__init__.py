"""musim-spark: catalog-scale, explainable music similarity on Spark and Delta.

Modules
-------
layout
    Track ids and the data set's folder layout.
errors
    The exception hierarchy and quarantine reason codes.
config
    ``conf/*.yaml`` parsed into frozen settings.
model
    ``Note``/``Track``/``Piece``: notes in seconds, the engine's input.
midi
    MIDI files to :class:`~musim_spark.model.Piece` and back.
labels
    Label JSON: read (lenient), validate (schema), write.
io
    Delta tables (``io.delta``) and the table contract (``io.tables``).
spark
    The Spark session, built from configuration.
sampledata
    Generated data sets in the real layout, with covers, audio, truth and faults.
ingest
    The ingest stage: files to Delta tables, incremental, with quarantine.
similarity
    Melody, rhythm and chord similarity with matching sections.

Pure modules never import pyspark; only ``spark``, ``io.delta`` and the stage runners do.
"""

__version__ = "0.1.0"
