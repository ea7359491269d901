"""`spark-submit jobs/export.py [options]`: the same as `musim export [options]`.

Kept thin on purpose: every option, the configuration and the stage itself live in musim_spark.
"""

import sys

from musim_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
