"""The batch job on Ray Data: manifests -> (GPU sampling) -> CPU vectorization -> SVGs, grids and a Parquet index.

`manifest` reads and normalizes rows (pure Python), `reader` streams them into a Dataset, `stages` are the thin
Ray actors over `prepare`/`sink` (pure functions), `index` owns the output index, `run` wires the job.
"""
