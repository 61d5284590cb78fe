"""The prediction worker.

CatBoost allocates through its own mimalloc, which by default keeps freed pages for later: a
worker that builds fused ensembles and then drops the members' objects would keep their memory
(440 MB instead of about 210 MB at 200 served models). Unless the operator chose otherwise, freed
pages go back to the system at once; this must be set before CatBoost is first imported, and
every worker path imports this package first. Scoring speed is unchanged (bench_worker). Which
thread reads and frees the models matters as much: ``common/worker/memory.py``.
"""

import os

os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
