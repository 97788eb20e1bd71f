"""Transformer model shapes from Hugging Face ``config.json`` field names.

A workload's ``model:`` is a built-in name (``builtin_models()``), a path to a ``config.json``
(or ``.yaml``), or an inline mapping with HF field names. Built-ins ship as YAML files in
``workloads/models/builtin/``, each with its source in a comment.

Two families are understood:

* Llama-style (``llama``, ``mistral``, …): ``hidden_size``, ``num_hidden_layers``,
  ``num_attention_heads``, ``num_key_value_heads`` (GQA; default = heads), ``intermediate_size``,
  ``vocab_size``, ``max_position_embeddings``, ``tie_word_embeddings``; RMSNorm without bias,
  gated SiLU MLP, no biases.
* GPT-J (``model_type: gptj``): ``n_embd``, ``n_layer``, ``n_head``, ``rotary_dim``, ``n_inner``
  (null = 4·n_embd), ``n_positions``; LayerNorm with bias, attention and MLP in parallel off one
  norm, non-gated GELU MLP with biases, LM head with bias.

Mixture-of-experts models (Llama-style attention) replace the MLP by a router and routed experts,
each a gated SiLU MLP: Mixtral (``num_local_experts``, ``num_experts_per_tok``; experts of
``intermediate_size``), Qwen2/Qwen3-MoE (``num_experts``, ``num_experts_per_tok``,
``moe_intermediate_size``, Qwen2's ``shared_expert_intermediate_size``) and DeepSeek-MoE
(``n_routed_experts``, ``n_shared_experts`` × ``moe_intermediate_size``, the first
``first_k_dense_replace`` layers dense). Multi-head latent attention (DeepSeek-V2/V3's
``kv_lora_rank``) and MoE on only some layers (``decoder_sparse_step`` ≠ 1, ``mlp_only_layers``) are
not modelled: such configs are errors naming the field.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from workloads.safe_yaml import InputFileError, YAMLBoundError, load_yaml, read_text
from workloads.suggest import did_you_mean

_BUILTIN_PACKAGE = "workloads.models"
#: HF config keys that make a model a mixture of experts in a layout hetsim does not read (DBRX-style names):
#: refused, since the model would otherwise run as a dense one and mislead.
UNREAD_MOE_KEYS = ("moe_num_experts", "ffn_config")


@dataclass(frozen=True, slots=True)
class TransformerConfig:
    """Shapes of a decoder-only transformer; all sizes in elements (not bytes)."""

    name: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    tie_word_embeddings: bool = False
    gated_mlp: bool = True
    parallel_attn_mlp: bool = False
    norm: str = "rmsnorm"  # or "layernorm" (weight and bias)
    mlp_bias: bool = False
    lm_head_bias: bool = False
    rotary_dim: int = 0  # 0: RoPE over the whole head_dim
    num_experts: int = 0  # routed experts per MoE layer (0: a dense model)
    experts_per_token: int = 0  # top-k
    expert_intermediate_size: int = 0  # width of one routed expert's gated MLP
    shared_expert_intermediate_size: int = 0  # total width of the always-on shared expert(s)
    dense_layers: int = 0  # the first layers keep a dense MLP of intermediate_size (DeepSeek)

    def __post_init__(self) -> None:
        for key in (
            "hidden_size",
            "num_layers",
            "num_heads",
            "num_kv_heads",
            "head_dim",
            "intermediate_size",
            "vocab_size",
        ):
            if getattr(self, key) < 1:
                raise ValueError(f"model {self.name!r}: {key}(={getattr(self, key)}) must be >= 1")
        if self.num_experts and not 0 < self.experts_per_token <= self.num_experts:
            raise ValueError(
                f"model {self.name!r}: num_experts_per_tok(={self.experts_per_token}) must be between 1 and the "
                f"number of experts ({self.num_experts})"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"model {self.name!r}: num_attention_heads(={self.num_heads}) must be a multiple of "
                f"num_key_value_heads(={self.num_kv_heads})"
            )

    @property
    def q_dim(self) -> int:
        """Width of the query projection output (heads · head_dim)."""
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of each of the key and value projection outputs (kv heads · head_dim)."""
        return self.num_kv_heads * self.head_dim

    @property
    def norm_params(self) -> int:
        """Parameters of one norm layer (RMSNorm: weight; LayerNorm: weight and bias)."""
        return self.hidden_size * (2 if self.norm == "layernorm" else 1)

    @property
    def attention_params(self) -> int:
        """Q, K, V and output projection weights of one layer."""
        d = self.hidden_size
        return d * self.q_dim + 2 * d * self.kv_dim + self.q_dim * d

    @property
    def mlp_params(self) -> int:
        """MLP weights (and biases) of one dense layer."""
        d, f = self.hidden_size, self.intermediate_size
        weights = (3 if self.gated_mlp else 2) * d * f
        biases = (f + d) if self.mlp_bias else 0
        return weights + biases

    @property
    def is_moe(self) -> bool:
        """Whether the model's MLPs are mixtures of experts."""
        return self.num_experts > 0

    def is_moe_layer(self, layer: int) -> bool:
        """Whether decoder layer ``layer`` has a mixture of experts (else a dense MLP)."""
        return self.is_moe and layer >= self.dense_layers

    @property
    def moe_params(self) -> int:
        """Router, every routed expert and the shared expert(s) of one MoE layer."""
        d = self.hidden_size
        return d * self.num_experts + 3 * d * (
            self.num_experts * self.expert_intermediate_size + self.shared_expert_intermediate_size
        )

    @property
    def active_moe_params(self) -> int:
        """Parameters one token uses in an MoE layer: router, its top-k experts and the shared expert(s)."""
        d = self.hidden_size
        return d * self.num_experts + 3 * d * (
            self.experts_per_token * self.expert_intermediate_size + self.shared_expert_intermediate_size
        )

    def layer_params_at(self, layer: int) -> int:
        """All parameters of decoder layer ``layer`` (norms included)."""
        norms = 1 if self.parallel_attn_mlp else 2
        mlp = self.moe_params if self.is_moe_layer(layer) else self.mlp_params
        return self.attention_params + mlp + norms * self.norm_params

    @property
    def layer_params(self) -> int:
        """All parameters of one decoder layer (norms included); of an MoE layer for an MoE model."""
        return self.layer_params_at(self.num_layers - 1)

    @property
    def embedding_params(self) -> int:
        """Token embedding table."""
        return self.vocab_size * self.hidden_size

    @property
    def lm_head_params(self) -> int:
        """LM head weight (and bias); zero extra storage when tied to the embedding."""
        return self.vocab_size * self.hidden_size + (self.vocab_size if self.lm_head_bias else 0)

    @property
    def params(self) -> int:
        """Total parameters as stored (a tied LM head is counted once)."""
        head = (self.vocab_size if self.lm_head_bias else 0) if self.tie_word_embeddings else self.lm_head_params
        layers = sum(self.layer_params_at(i) for i in range(self.num_layers))
        return self.embedding_params + layers + self.norm_params + head

    @property
    def active_params(self) -> int:
        """Parameters one token uses (an MoE token uses its top-k experts only); equals ``params`` when dense."""
        if not self.is_moe:
            return self.params
        moe_layers = self.num_layers - self.dense_layers
        return self.params - moe_layers * (self.moe_params - self.active_moe_params)

    @staticmethod
    def from_hf(data: dict[str, Any], name: str = "custom") -> TransformerConfig:
        """Map a HF ``config.json`` mapping (Llama-style or GPT-J field names) to shapes."""

        def num(key: str, default: int | None = None) -> int:
            value = data[key] if default is None else data.get(key, default)
            if value is None:
                return default or 0
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"model {name!r}: HF field {key!r} must be a whole number, got {value!r}")
            return value

        moe = [key for key in UNREAD_MOE_KEYS if data.get(key) not in (None, 0, 1, False)]
        if moe:
            raise ValueError(
                f"model {name!r}: {', '.join(moe)} describe a mixture of experts in a layout hetsim does not read "
                "(Mixtral, Qwen-MoE and DeepSeek-MoE field names are read); it would run as a dense model and mislead"
            )
        for key in ("hidden_size", "n_embd"):
            heads_key = "num_attention_heads" if key == "hidden_size" else "n_head"
            d, h = data.get(key), data.get(heads_key)
            explicit_head_dim = key == "hidden_size" and data.get("head_dim")
            if isinstance(d, int) and isinstance(h, int) and h > 0 and d % h and not explicit_head_dim:
                raise ValueError(
                    f"model {name!r}: {heads_key}(={h}) must divide {key}(={d}) (or give head_dim explicitly)"
                )
        try:
            if data.get("model_type") == "gptj" or "n_embd" in data:
                d = num("n_embd")
                heads = num("n_head")
                inner = num("n_inner", 0)
                return TransformerConfig(
                    name=name,
                    hidden_size=d,
                    num_layers=num("n_layer"),
                    num_heads=heads,
                    num_kv_heads=heads,
                    head_dim=d // heads,
                    intermediate_size=inner or 4 * d,
                    vocab_size=num("vocab_size"),
                    max_position_embeddings=num("n_positions", 2048),
                    tie_word_embeddings=bool(data.get("tie_word_embeddings", False)),
                    gated_mlp=False,
                    parallel_attn_mlp=True,
                    norm="layernorm",
                    mlp_bias=True,
                    lm_head_bias=True,
                    rotary_dim=num("rotary_dim", 0),
                )
            d = num("hidden_size")
            heads = num("num_attention_heads")
            for field in ("kv_lora_rank", "q_lora_rank"):
                if data.get(field) is not None:
                    raise ValueError(
                        f"model {name!r}: HF field {field!r}: multi-head latent attention (DeepSeek-V2/V3) is not "
                        "modelled; only Llama-style attention is"
                    )
            sparse_step = data.get("decoder_sparse_step", 1) not in (1, None)
            if sparse_step or data.get("mlp_only_layers"):
                field = "decoder_sparse_step" if sparse_step else "mlp_only_layers"
                raise ValueError(f"model {name!r}: HF field {field!r}: MoE on only some layers is not modelled")
            experts = num("num_local_experts", 0) or num("num_experts", 0) or num("n_routed_experts", 0)
            experts = experts if experts > 1 else 0  # one expert is a dense MLP
            expert_width = num("moe_intermediate_size", 0) or (num("intermediate_size") if experts else 0)
            shared = num("shared_expert_intermediate_size", 0) or num("n_shared_experts", 0) * expert_width
            if experts and not num("num_experts_per_tok", 0):
                raise ValueError(f"model {name!r}: an MoE config needs the HF field 'num_experts_per_tok'")
            return TransformerConfig(
                name=name,
                hidden_size=d,
                num_layers=num("num_hidden_layers"),
                num_heads=heads,
                num_kv_heads=(num("num_key_value_heads", 0) or heads),
                head_dim=(num("head_dim", 0) or d // heads),
                intermediate_size=num("intermediate_size"),
                vocab_size=num("vocab_size"),
                max_position_embeddings=num("max_position_embeddings", 0),
                tie_word_embeddings=bool(data.get("tie_word_embeddings", False)),
                num_experts=experts,
                experts_per_token=num("num_experts_per_tok", 0) if experts else 0,
                expert_intermediate_size=expert_width,
                shared_expert_intermediate_size=shared if experts else 0,
                dense_layers=num("first_k_dense_replace", 0) if experts else 0,
            )
        except KeyError as exc:
            raise ValueError(f"model {name!r}: config is missing the HF field {exc.args[0]!r}") from None
        except ZeroDivisionError:
            raise ValueError(f"model {name!r}: num_attention_heads (n_head) must be >= 1") from None


@functools.cache
def builtin_models() -> tuple[str, ...]:
    """Names of the built-in model configs (for ``hetsim list`` and error messages)."""
    folder = resources.files(_BUILTIN_PACKAGE).joinpath("builtin")
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


def _read_mapping(text: str, source: str) -> dict[str, Any]:
    """A model config's mapping from JSON (``.json``) or YAML text; errors name ``source`` and the line."""
    try:
        data = json.loads(text) if source.endswith(".json") else load_yaml(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"model config {source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        label = "YAML refused" if isinstance(exc, YAMLBoundError) else "YAML syntax error"
        raise ValueError(f"model config {where}: {label}: {what}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"model config {source}: YAML error: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"model config {source}: expected a mapping of HF config fields")
    return data


@functools.cache
def _builtin(name: str) -> TransformerConfig:
    """A built-in config, parsed once (configs are immutable)."""
    text = resources.files(_BUILTIN_PACKAGE).joinpath("builtin", f"{name}.yaml").read_text()
    return TransformerConfig.from_hf(_read_mapping(text, f"{name}.yaml"), name)


def load_model(model: str | dict[str, Any] | TransformerConfig) -> TransformerConfig:
    """Resolve a built-in name, a path to a config.json/.yaml, or an inline mapping."""
    if isinstance(model, TransformerConfig):
        return model
    if isinstance(model, dict):
        return TransformerConfig.from_hf(model, str(model.get("name", model.get("_name_or_path", "custom"))))
    names = builtin_models()
    if model in names:
        return _builtin(model)
    path = Path(model)
    if looks_like_file(model) or path.exists():
        try:
            text = read_text(path, what="model config file")
        except InputFileError as exc:
            raise ValueError(f"model config {exc}") from None
        return TransformerConfig.from_hf(_read_mapping(text, str(path)), path.stem)
    raise ValueError(
        f"unknown model {model!r}{did_you_mean(model, names)}; built-in models: {', '.join(names)}; "
        "or give a path to a HF config.json (or .yaml)"
    )


def looks_like_file(model: str) -> bool:
    """Whether a ``model:`` string names a config file rather than a built-in model."""
    return model.endswith((".json", ".yaml", ".yml")) or "/" in model or "\\" in model


__all__ = ["TransformerConfig", "builtin_models", "load_model"]
