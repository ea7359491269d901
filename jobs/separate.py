"""`spark-submit jobs/separate.py [options]`: the same as `musim separate [options]`.

Kept thin on purpose: every option, the configuration and the stage itself live in musim_spark.
"""

import sys

from musim_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["separate", *sys.argv[1:]]))
