"""The floor table: every measure of issue #15 in one run, eoclient paired with its floor.

``python -m benchmarks floor [--quick]`` (see :mod:`benchmarks.floor.runner`
and the README's "The floor table"). The client processes are in
:mod:`benchmarks.floor.children`, the import timing in
:mod:`benchmarks.floor.imports`, the STAC row's hook in
:mod:`benchmarks.floor.stac`.
"""
