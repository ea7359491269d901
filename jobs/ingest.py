"""`spark-submit jobs/ingest.py --root DATA [options]`: the same as `musim ingest --root DATA [options]`.

Kept thin on purpose: every option, the configuration and the stage itself live in musim_spark.
"""

import sys

from musim_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
