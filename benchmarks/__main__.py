"""python -m benchmarks [--quick] [--scenario NAME] [--clients eoclient,sentinelhub,...] [--repeat R]

See benchmarks/README.md.
"""

from __future__ import annotations

from benchmarks.run import main

if __name__ == "__main__":
    main()
