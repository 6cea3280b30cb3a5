"""A tiny Gemma-3-architecture GGUF: sliding-window attention on 5 of every 6 layers (llama.cpp's gemma3 pattern),
so the real llama-server allocates a full-context and a sliding-window KV cache for it. Random weights: it loads
and reports its KV buffers, which is all tests/consumers/test_llama_kv_consumer.py asks.

    python -m tests.consumers.tiny_swa_gguf OUT.gguf SLIDING_WINDOW
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.consumers.tiny_gguf import add_vocab, build_vocab, ensure_with_gguf

N_EMBD, N_HEAD, N_HEAD_KV, HEAD_DIM, N_FF = 64, 4, 2, 32, 128
N_LAYER = 6  # llama.cpp's gemma3: every 6th layer attends to the whole context, the other 5 to the window
GLOBAL_LAYERS = N_LAYER // 6


def write_tiny_swa_gguf(path: str | Path, sliding_window: int) -> Path:
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types = build_vocab()
    rng = np.random.default_rng(1)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_context_length(32768)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    w.add_sliding_window(sliding_window)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    add_vocab(w, tokens, scores, types)
    w.add_tensor("token_embd.weight", rand(len(tokens), N_EMBD))  # tied output head
    for i in range(N_LAYER):
        p = f"blk.{i}."
        for name, tensor in (
            ("attn_norm", ones(N_EMBD)),
            ("attn_q", rand(HEAD_DIM * N_HEAD, N_EMBD)),
            ("attn_k", rand(HEAD_DIM * N_HEAD_KV, N_EMBD)),
            ("attn_v", rand(HEAD_DIM * N_HEAD_KV, N_EMBD)),
            ("attn_output", rand(N_EMBD, HEAD_DIM * N_HEAD)),
            ("attn_q_norm", ones(HEAD_DIM)),
            ("attn_k_norm", ones(HEAD_DIM)),
            ("post_attention_norm", ones(N_EMBD)),
            ("ffn_norm", ones(N_EMBD)),
            ("ffn_gate", rand(N_FF, N_EMBD)),
            ("ffn_up", rand(N_FF, N_EMBD)),
            ("ffn_down", rand(N_EMBD, N_FF)),
            ("post_ffw_norm", ones(N_EMBD)),
        ):
            w.add_tensor(f"{p}{name}.weight", tensor)
    w.add_tensor("output_norm.weight", ones(N_EMBD))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def ensure_tiny_swa_gguf(path: str | Path, sliding_window: int) -> Path:
    return ensure_with_gguf(
        lambda: write_tiny_swa_gguf(path, sliding_window),
        "tests.consumers.tiny_swa_gguf",
        str(path),
        str(sliding_window),
    )


if __name__ == "__main__":
    print(write_tiny_swa_gguf(sys.argv[1], int(sys.argv[2])))
