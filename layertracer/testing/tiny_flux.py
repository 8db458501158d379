"""Test harness: a tiny random-weight FluxPipeline built offline, so tests exercise the real diffusers classes
without a download.

The shapes that tie Flux's parts together are the real ones (VAE 8x downsampling, 16 latent channels packed into
64-channel tokens, `joint_attention_dim` = T5 `d_model`, `pooled_projection_dim` = CLIP hidden size); only the
widths and depths are tiny. The tokenizers are built locally: a character-level CLIP BPE vocabulary and a small
sentencepiece model trained on a few sentences for T5.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Literal

import torch

from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE

# The widths that must agree between components.
TEXT_DIM = 32  # CLIP hidden size == T5 d_model == pooled/joint dims of the transformer
HEADS, HEAD_DIM = 2, 16  # transformer inner dim 32; rope axes must sum to HEAD_DIM
T5_CORPUS = (
    "a flat icon of a red cat",
    "the creation process of an icon drawn step by step",
    "a blue circle, a green square and a yellow star",
    "grid of frames showing how a vector illustration is built",
    "sks layered svg emoji with black outlines",
)


def build_tiny_pipeline(out_dir: str | Path, seed: int = 0) -> str:
    """Write a complete, loadable FluxPipeline folder (~1 MB) to `out_dir`; return its path.

    The same seed gives the same weights, so tests can compare pixels across runs.
    """
    from diffusers import FluxPipeline

    out = Path(out_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer, tokenizer_2 = _clip_tokenizer(Path(tmp) / "clip"), _t5_tokenizer(Path(tmp) / "t5")
            pipe = FluxPipeline(
                scheduler=_scheduler(),
                vae=_vae(),
                text_encoder=_clip_text_encoder(tokenizer),
                tokenizer=tokenizer,
                text_encoder_2=_t5_encoder(tokenizer_2),
                tokenizer_2=tokenizer_2,
                transformer=_transformer(),
            )
            pipe.save_pretrained(out, safe_serialization=True)
    return str(out)


def _transformer():
    from diffusers import FluxTransformer2DModel

    return FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=HEAD_DIM,
        num_attention_heads=HEADS,
        joint_attention_dim=TEXT_DIM,
        pooled_projection_dim=TEXT_DIM,
        guidance_embeds=True,
        axes_dims_rope=(4, 6, 6),
    )


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,  # 3 downsamplings: 8x, as in Flux
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=1.5035,  # FLUX.1's values
        shift_factor=0.0609,
        use_quant_conv=False,
        use_post_quant_conv=False,
        mid_block_add_attention=False,
    )


def _scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    # FLUX.1-dev's scheduler config: resolution-dependent shift between 0.5 and 1.15.
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000,
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )


def _clip_tokenizer(folder: Path):
    """CLIP BPE over printable ASCII, with merges for the words of the default prompt template and the T5 corpus.

    The merges keep the templated prompts inside CLIP's 77 tokens, as real CLIP's 49k-token vocabulary does.
    """
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for code in range(33, 127):
        for token in (chr(code), chr(code) + "</w>"):
            vocab[token] = len(vocab)
    merges: list[str] = []
    for word in sorted(set(re.findall(r"[a-z]+", " ".join((DEFAULT_PROMPT_TEMPLATE, *T5_CORPUS)).lower()))):
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        for piece in pieces[1:]:
            merged = pieces[0] + piece
            if merged not in vocab:
                vocab[merged] = len(vocab)
                merges.append(f"{pieces[0]} {piece}")
            pieces = [merged] + pieces[2:]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(m + "\n" for m in merges))
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def _t5_tokenizer(folder: Path):
    """A tiny unigram sentencepiece model; loaded as a folder (T5Tokenizer(vocab_file=...) maps all to <unk>)."""
    import sentencepiece as spm
    from transformers import T5TokenizerFast

    folder.mkdir(parents=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(T5_CORPUS * 8),
        model_prefix=str(folder / "spiece"),
        vocab_size=64,
        hard_vocab_limit=False,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=1.0,
        model_type="unigram",
        num_threads=1,
        minloglevel=2,
    )
    return T5TokenizerFast.from_pretrained(str(folder), extra_ids=0)


def _clip_text_encoder(tokenizer):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_DIM,
        intermediate_size=37,
        num_hidden_layers=1,
        num_attention_heads=4,
        max_position_embeddings=tokenizer.model_max_length,
        projection_dim=TEXT_DIM,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config).eval()


def _t5_encoder(tokenizer):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=37,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
        feed_forward_proj="gated-gelu",  # T5 v1.1, as FLUX's T5-XXL
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return T5EncoderModel(config).eval()


LoraFormat = Literal["diffusers", "kohya"]


def build_tiny_lora(
    out_path: str | Path, fmt: LoraFormat = "diffusers", rank: int = 4, seed: int = 1, std: float = 0.3
) -> str:
    """Write a random LoRA `.safetensors` for the tiny transformer, in diffusers or kohya (sd-scripts) key format.

    Both formats touch the first double block's image attention (q, k, v, out), its image MLP and the single
    block's output projection, with non-zero up weights so the LoRA visibly changes the output.
    """
    from safetensors.torch import save_file

    inner = HEADS * HEAD_DIM
    generator = torch.Generator().manual_seed(seed)

    def lora_pair(in_features: int, out_features: int) -> tuple[torch.Tensor, torch.Tensor]:
        down = torch.randn(rank, in_features, generator=generator) * std
        up = torch.randn(out_features, rank, generator=generator) * std
        return down, up

    tensors: dict[str, torch.Tensor] = {}
    if fmt == "diffusers":
        targets = {
            "transformer_blocks.0.attn.to_q": (inner, inner),
            "transformer_blocks.0.attn.to_k": (inner, inner),
            "transformer_blocks.0.attn.to_v": (inner, inner),
            "transformer_blocks.0.attn.to_out.0": (inner, inner),
            "transformer_blocks.0.ff.net.0.proj": (inner, 4 * inner),
            "single_transformer_blocks.0.proj_out": (5 * inner, inner),
        }
        for module, (fan_in, fan_out) in targets.items():
            down, up = lora_pair(fan_in, fan_out)
            tensors[f"transformer.{module}.lora_A.weight"] = down
            tensors[f"transformer.{module}.lora_B.weight"] = up
    elif fmt == "kohya":
        targets = {
            "lora_unet_double_blocks_0_img_attn_qkv": (inner, 3 * inner),  # split into q, k, v on load
            "lora_unet_double_blocks_0_img_attn_proj": (inner, inner),
            "lora_unet_double_blocks_0_img_mlp_0": (inner, 4 * inner),
            "lora_unet_single_blocks_0_linear2": (5 * inner, inner),
        }
        for module, (fan_in, fan_out) in targets.items():
            down, up = lora_pair(fan_in, fan_out)
            tensors[f"{module}.lora_down.weight"] = down
            tensors[f"{module}.lora_up.weight"] = up
            tensors[f"{module}.alpha"] = torch.tensor(float(rank))
    else:
        raise ValueError(f"unknown LoRA format {fmt!r}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out))
    return str(out)
