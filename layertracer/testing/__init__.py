"""Test harness, not part of the tool: tiny offline FLUX.1 parts that tests and the CPU benchmarks build.

`tiny_flux` writes a random-weight FluxPipeline folder and LoRAs in seconds; `checkpoints` writes its transformer
as the single-file checkpoints users download (BFL or diffusers keys, bf16 or fp8).
"""
