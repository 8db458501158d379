"""The batch job on Ray Data: manifests -> (GPU sampling) -> CPU vectorization -> SVGs, grids and a Parquet index.

`rows` defines the two row types and their schemas, `manifest` reads and normalizes rows (pure Python), `reader`
streams them into a Dataset, `frames` gets a row's creation frames, `stages` are the thin Ray actors over per-row
functions, `sink` writes a row's files, `index` owns the output index, `settings` the settings fingerprint
--resume checks, `breaker` stops a job whose store is down, `recovery` holds the Ray settings for faults, and
`run` wires the job.
"""
