"""Generate a tiny, deterministic, *valid* llama-architecture GGUF model.

The model is random garbage linguistically, but llama.cpp loads it, serves it
and produces well-formed output, which is all a consumer test harness needs:

* SentencePiece-style ("llama") tokenizer with ``<unk>``/``<s>``/``</s>``,
  all 256 byte-fallback tokens (``<0x00>`` .. ``<0xFF>``) and a few dozen
  plain ASCII word pieces -- every token string is unique (duplicates make
  llama.cpp abort the load) and any input text tokenizes via byte fallback.
* The output head is strongly biased toward a handful of ASCII word tokens,
  so the server never emits byte tokens that would form invalid UTF-8.
  The bias is implemented with a dedicated "constant" hidden dimension: every
  token embedding carries a large constant in dim 0, the attention/FFN output
  projections never write to dim 0, so after the final RMS norm dim 0 is a
  constant and ``output.weight[:, 0]`` acts as a per-token logit bias.
* EOS is *not* among the favoured tokens: generations end at ``max_tokens`` /
  ``n_predict`` (``finish_reason == "length"``). Always pass ``max_tokens``.
* A tiny Jinja chat template is stored in ``tokenizer.chat_template`` so
  ``/v1/chat/completions`` works (with or without ``--jinja``).

Usage::

    python -m tests.consumers.tiny_gguf OUT.gguf

``gguf`` and ``numpy`` are only needed inside :func:`write_tiny_gguf`; they
are installed into the consumers venv by ``.ci/install_llama_server.sh``.
:func:`ensure_tiny_gguf` falls back to that venv's interpreter when the
current one lacks them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEED = 1234

N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 4
N_FF = 128
N_CTX_TRAIN = 2048
RMS_EPS = 1e-5

#: Word pieces ("\u2581" is SentencePiece's space marker). Pure ASCII otherwise.
WORDS = [
    "hello",
    "world",
    "ok",
    "yes",
    "no",
    "the",
    "a",
    "cat",
    "dog",
    "sun",
    "moon",
    "tree",
    "red",
    "blue",
    "green",
    "one",
    "two",
    "three",
    "four",
    "five",
    "is",
    "and",
    "or",
    "to",
    "of",
    "in",
    "it",
    "we",
    "you",
    "me",
    "test",
    "model",
    "tiny",
    "llama",
    "fast",
    "slow",
    "good",
    "fine",
    "data",
    "run",
]
#: Tokens the output head favours (all decode to plain ASCII " word").
FAVOURED = ["hello", "world", "ok", "yes", "cat", "dog", "sun", "tree"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

SPM_SPACE = "\u2581"

# token types (gguf.TokenType), spelled out so this module imports without gguf
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6


def build_vocab() -> tuple[list[str], list[float], list[int]]:
    """Return (tokens, scores, token_types); ids: 0 unk, 1 bos, 2 eos."""
    tokens: list[str] = ["<unk>", "<s>", "</s>"]
    types: list[int] = [_UNKNOWN, _CONTROL, _CONTROL]
    scores: list[float] = [0.0, 0.0, 0.0]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(_BYTE)
        scores.append(0.0)
    for i, word in enumerate(WORDS):
        tokens.append(SPM_SPACE + word)
        types.append(_NORMAL)
        scores.append(-float(i + 1))
    # a few single-character pieces so common prompts do not need bytes only
    for i, ch in enumerate([SPM_SPACE, "e", "t", "a", "o"]):
        tokens.append(ch)
        types.append(_NORMAL)
        scores.append(-100.0 - i)
    if len(set(tokens)) != len(tokens):  # llama.cpp aborts on duplicates
        raise AssertionError("duplicate tokens in tiny vocab")
    return tokens, scores, types


def add_vocab(w, tokens: list[str], scores: list[float], types: list[int]) -> None:
    """The tiny vocab's tokenizer keys (SentencePiece-style, unk/bos/eos = 0/1/2) on a GGUFWriter."""
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def write_tiny_gguf(path: str | Path, arch: str = "llama") -> Path:
    """Write the tiny model to ``path`` and return it as a :class:`Path`.

    Deterministic: the same bytes for the same gguf/numpy versions.
    Only ``arch="llama"`` is supported.
    """
    if arch != "llama":
        raise ValueError(f"unsupported arch {arch!r}: only 'llama' is implemented")

    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types = build_vocab()
    n_vocab = len(tokens)
    rng = np.random.default_rng(SEED)

    def rand(*shape: int, scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = gguf.GGUFWriter(str(path), arch)
    w.add_name("tiny-test-llama")
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    add_vocab(w, tokens, scores, types)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    # numpy shapes are (rows=out, cols=in); ggml ne is the reverse.
    tok_embd = rand(n_vocab, N_EMBD, scale=0.1)
    tok_embd[:, 0] = 4.0  # constant dim -> logit bias channel after RMS norm
    w.add_tensor("token_embd.weight", tok_embd)

    for i in range(N_LAYER):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_k.weight", rand(N_EMBD // N_HEAD * N_HEAD_KV, N_EMBD))
        w.add_tensor(p + "attn_v.weight", rand(N_EMBD // N_HEAD * N_HEAD_KV, N_EMBD))
        wo = rand(N_EMBD, N_EMBD)
        wo[0, :] = 0.0  # never write the constant dim
        w.add_tensor(p + "attn_output.weight", wo)
        w.add_tensor(p + "ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", rand(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_up.weight", rand(N_FF, N_EMBD))
        down = rand(N_EMBD, N_FF)
        down[0, :] = 0.0
        w.add_tensor(p + "ffn_down.weight", down)

    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    out = rand(n_vocab, N_EMBD, scale=0.5)  # random part: varies with context
    favoured = {SPM_SPACE + word for word in FAVOURED}
    for tid, tok in enumerate(tokens):
        out[tid, 0] = 3.0 if tok in favoured else -3.0
    w.add_tensor("output.weight", out)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def ensure_with_gguf(write, module: str, *args: str) -> Path:
    """`write()` with this interpreter if it has ``gguf``, else ``python -m module *args`` with the consumers
    venv's python (``$CONSUMERS_VENV`` or ``.venv-consumers``). Returns the written path (``args[0]``)."""
    try:
        import gguf  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        root = _repo_root()
        venv = Path(os.environ.get("CONSUMERS_VENV", ".venv-consumers"))
        if not venv.is_absolute():
            venv = root / venv
        py = venv / "bin" / "python"
        if not py.exists():
            raise RuntimeError(
                f"gguf/numpy are not importable and no consumers venv at {venv}; run .ci/install_llama_server.sh"
            ) from None
        subprocess.run([str(py), "-m", module, *args], cwd=root, check=True)
        return Path(args[0])
    return Path(write())


def ensure_tiny_gguf(path: str | Path) -> Path:
    """The tiny llama GGUF at ``path``, written with whichever interpreter has ``gguf``."""
    return ensure_with_gguf(lambda: write_tiny_gguf(path), "tests.consumers.tiny_gguf", str(path))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m tests.consumers.tiny_gguf OUT.gguf", file=sys.stderr)
        return 2
    out = write_tiny_gguf(argv[0])
    print(f"{out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
