"""``python -m kdlib.grading``: release, grade, list (see :mod:`kdlib.grading.cli`)."""

import sys

from kdlib.grading.cli import main

sys.exit(main())
