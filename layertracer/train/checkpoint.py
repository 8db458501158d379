"""Saving the LoRA (diffusers format + adapter metadata) and training checkpoints that a later run resumes from.

Layout under OUT (a local folder or fsspec URI):
  pytorch_lora_weights.safetensors      the final LoRA: `pipe.load_lora_weights(OUT)` or `--lora OUT`
  train_log.jsonl                       one line per optimizer step (step, loss, lr, sigma, s/step)
  checkpoints/step-00000250/            the LoRA as above + training_state.pt (optimizer, LR schedule, RNG)
                            state.json  written last: a checkpoint without it is incomplete and ignored
The adapter config (rank, lora_alpha, targets) travels inside the safetensors header, so a LoRA trained with
lora_alpha != rank loads at the scale it was trained with; so does how the run trained (`metadata`, e.g. that
Image2Layers must pin the last cell clean: models.loading.LORA_REFERENCE_KEY).
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from pathlib import Path

import torch

from layertracer import storage

LORA_FILE = "pytorch_lora_weights.safetensors"
STATE_FILE = "training_state.pt"
DONE_FILE = "state.json"
LOG_FILE = "train_log.jsonl"
_STEP_DIR = re.compile(r"step-(\d+)$")


def checkpoint_uri(out_uri: str, step: int) -> str:
    return storage.join(out_uri, "checkpoints", f"step-{step:08d}")


def save_lora(transformer, out_uri: str, storage_options=None, metadata: dict[str, str] | None = None) -> None:
    """Write the adapter in diffusers' format, with its peft config (and `metadata`) as safetensors metadata."""
    from diffusers import FluxPipeline
    from peft.utils import get_peft_model_state_dict
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with tempfile.TemporaryDirectory() as tmp:
        FluxPipeline.save_lora_weights(
            tmp,
            transformer_lora_layers=get_peft_model_state_dict(transformer),
            transformer_lora_adapter_metadata=transformer.peft_config["default"].to_dict(),
        )
        if metadata:
            path = os.path.join(tmp, LORA_FILE)
            with safe_open(path, "pt") as written:
                header = written.metadata() or {}
            save_file(load_file(path), path, metadata={**header, **metadata})
        _publish_file(os.path.join(tmp, LORA_FILE), storage.join(out_uri, LORA_FILE), storage_options)


def load_lora_state(transformer, lora_uri: str, storage_options=None) -> None:
    """Put a saved LoRA's weights back into the transformer's (already added) adapter."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load

    tensors = load(storage.read_bytes(storage.join(lora_uri, LORA_FILE), storage_options))
    prefix = "transformer."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    result = set_peft_model_state_dict(transformer, state, adapter_name="default")
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise ValueError(f"checkpoint {lora_uri} does not match this adapter: {unexpected[:3]}")


def save_checkpoint(
    out_uri: str, step: int, transformer, training_state: dict, keep: int, storage_options=None,
    metadata: dict[str, str] | None = None,
) -> str:
    """Write checkpoints/step-N (LoRA, optimizer/schedule/RNG state, then the done marker); prune to `keep`."""
    uri = checkpoint_uri(out_uri, step)
    save_lora(transformer, uri, storage_options, metadata)
    buffer = io.BytesIO()
    torch.save(training_state, buffer)
    storage.write_bytes_atomic(storage.join(uri, STATE_FILE), buffer.getvalue(), storage_options)
    storage.write_bytes_atomic(storage.join(uri, DONE_FILE), json.dumps({"step": step}).encode(), storage_options)
    for old in complete_checkpoints(out_uri, storage_options)[:-keep]:
        fs, path = storage.filesystem(old, storage_options)
        fs.rm(path, recursive=True)
    return uri


def complete_checkpoints(out_uri: str, storage_options=None) -> list[str]:
    """URIs of checkpoints that finished writing, oldest first."""
    root = storage.join(out_uri, "checkpoints")
    fs, path = storage.filesystem(root, storage_options)
    if not fs.exists(path):
        return []
    found = []
    for entry in fs.ls(path, detail=False):
        match = _STEP_DIR.search(entry.rstrip("/"))
        if match and fs.exists(f"{entry.rstrip('/')}/{DONE_FILE}"):
            found.append((int(match.group(1)), storage.join(root, f"step-{int(match.group(1)):08d}")))
    return [uri for _, uri in sorted(found)]


def load_training_state(checkpoint: str, storage_options=None) -> dict:
    data = storage.read_bytes(storage.join(checkpoint, STATE_FILE), storage_options)
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def read_log(out_uri: str, storage_options=None) -> list[dict]:
    uri = storage.join(out_uri, LOG_FILE)
    if not storage.exists(uri, storage_options):
        return []
    text = storage.read_bytes(uri, storage_options).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_log(out_uri: str, entries: list[dict], storage_options=None) -> None:
    text = "".join(json.dumps(entry) + "\n" for entry in entries)
    storage.write_bytes_atomic(storage.join(out_uri, LOG_FILE), text.encode("utf-8"), storage_options)


def _publish_file(local: str, uri: str, storage_options) -> None:
    storage.write_bytes_atomic(uri, Path(local).read_bytes(), storage_options)
