"""`python -m cli …` is `milestones …` (how `serve` starts its projection worker)."""

import sys

from cli.main import main

sys.exit(main())
