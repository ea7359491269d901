"""Delta tables: the table contract, and every read and write of them.

Split by job, as delta-rs's Python package splits writer, transaction and table:

tables
    The table contract: names, Arrow schemas, keys and partitioning, :func:`~tables.table_uri`.
settings
    :class:`~settings.DeltaSettings`, the ``delta:`` section of the configuration.
plan
    :class:`~plan.WritePlan`: one write (table, schema, mode, keys, run id, app id), validated
    once; both writers take it.
schema
    Does a write match its table (columns, types, NOT NULL)?
parquet
    Parquet data files and the Delta statistics of each (on the driver and in Spark tasks).
commit
    The delta-rs commit: one transaction per write, app transactions, replace by key.
write
    :func:`~write.write_arrow`: rows on the driver to a table.
spark_io
    :func:`~spark_io.write_dataframe`, :func:`~spark_io.read_dataframe`,
    :func:`~spark_io.spark_schema`: Spark DataFrames in and out (delta-rs or delta-spark).
read
    :func:`~read.read_arrow`, versions, row counts and history from the log.
runs_table
    :func:`~runs_table.record_run`: the ``runs`` table ``musim status`` lists.

Only ``spark_io`` imports pyspark (it is a Spark module; ``tests/test_purity.py`` checks the
source). Importing this package imports none of its modules.
"""
