"""``python -m alliance_pipeline.verify REPORT``: see :mod:`alliance_pipeline.verify.check`."""
import sys

from alliance_pipeline.verify.check import main

sys.exit(main())
