"""``python -m benchmarks.child SPEC.json``: run one client of one scenario, write its measurements.

The spec (written by :mod:`benchmarks.run`) names the scenario module, the
client function in it, the emulator's URLs and credentials, the parameters,
the repeat count, a work directory and the file to write the result to (JSON:
see :meth:`benchmarks.measure.Context.result`).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from benchmarks.measure import Context


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    client = getattr(importlib.import_module(spec["module"]), spec["client"])
    ctx = Context(spec)
    client(ctx)
    Path(spec["result"]).write_text(json.dumps(ctx.result()))


if __name__ == "__main__":
    main()
