"""The seed article's Vision Transformer in PyTorch, with its module and parameter names.

Its state_dict is the seed layout vit-ts reads and writes (model_final.safetensors), so a model
trained by vit-ts loads here with load_state_dict and can go on training in PyTorch.

The article's model: PatchEmbeddings (a strided Conv2d) -> Embeddings ([CLS] token + learned
position embeddings) -> Encoder of pre-LayerNorm Blocks (MultiHeadAttention of one
query/key/value Linear per AttentionHead, or FasterMultiHeadAttention's one qkv_projection;
then an MLP with the tanh GELU) -> classifier on the [CLS] output.

Three config keys beyond the article's let the same modules hold a Hugging Face ViT:
  hidden_act       "gelu_new" (the article's tanh form, the default) or "gelu" (exact erf form)
  layer_norm_eps   the LayerNorms' epsilon (default 1e-5, nn.LayerNorm's)
  final_layernorm  a LayerNorm before the classifier (Hugging Face's ViT has one; the article's has not)
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

SEED_CONFIG = {
    "patch_size": 4,
    "hidden_size": 48,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 4 * 48,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "initializer_range": 0.02,
    "image_size": 32,
    "num_classes": 10,
    "num_channels": 3,
    "qkv_bias": True,
    "hidden_act": "gelu_new",
    "layer_norm_eps": 1e-5,
    "final_layernorm": False,
}


def full_config(overrides):
    """The seed config with `overrides` over it; keys the modules do not use (e.g. labels) are kept."""
    return {**SEED_CONFIG, **overrides}


class NewGELUActivation(nn.Module):
    """GELU's tanh approximation, as in Google's BERT (the article's activation)."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class PatchEmbeddings(nn.Module):
    """Cuts the image into patch_size squares and projects each to hidden_size."""

    def __init__(self, config):
        super().__init__()
        self.num_patches = (config["image_size"] // config["patch_size"]) ** 2
        self.projection = nn.Conv2d(config["num_channels"], config["hidden_size"],
                                    kernel_size=config["patch_size"], stride=config["patch_size"])

    def forward(self, x):
        # (batch, channels, size, size) -> (batch, num_patches, hidden_size)
        return self.projection(x).flatten(2).transpose(1, 2)


class Embeddings(nn.Module):
    """Patch embeddings behind a learnable [CLS] token, plus learnable position embeddings."""

    def __init__(self, config):
        super().__init__()
        self.patch_embeddings = PatchEmbeddings(config)
        self.cls_token = nn.Parameter(torch.randn(1, 1, config["hidden_size"]))
        self.position_embeddings = nn.Parameter(torch.randn(1, self.patch_embeddings.num_patches + 1, config["hidden_size"]))
        self.dropout = nn.Dropout(config["hidden_dropout_prob"])

    def forward(self, x):
        x = self.patch_embeddings(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return self.dropout(torch.cat([cls, x], dim=1) + self.position_embeddings)


class AttentionHead(nn.Module):
    """One head of scaled dot-product attention."""

    def __init__(self, hidden_size, attention_head_size, dropout, bias=True):
        super().__init__()
        self.attention_head_size = attention_head_size
        self.query = nn.Linear(hidden_size, attention_head_size, bias=bias)
        self.key = nn.Linear(hidden_size, attention_head_size, bias=bias)
        self.value = nn.Linear(hidden_size, attention_head_size, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        query, key, value = self.query(x), self.key(x), self.value(x)
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.attention_head_size)
        probs = F.softmax(scores, dim=-1)
        return self.dropout(probs) @ value, probs


class MultiHeadAttention(nn.Module):
    """The article's attention: one AttentionHead module per head, outputs concatenated and projected."""

    def __init__(self, config):
        super().__init__()
        head_size = config["hidden_size"] // config["num_attention_heads"]
        self.heads = nn.ModuleList([
            AttentionHead(config["hidden_size"], head_size, config["attention_probs_dropout_prob"], config["qkv_bias"])
            for _ in range(config["num_attention_heads"])])
        self.output_projection = nn.Linear(config["hidden_size"], config["hidden_size"])
        self.output_dropout = nn.Dropout(config["hidden_dropout_prob"])

    def forward(self, x):
        outputs = [head(x) for head in self.heads]
        joined = torch.cat([out for out, _ in outputs], dim=-1)
        probs = torch.stack([p for _, p in outputs], dim=1)  # (batch, heads, tokens, tokens)
        return self.output_dropout(self.output_projection(joined)), probs


class FasterMultiHeadAttention(nn.Module):
    """The same function with one qkv_projection: rows are the queries of every head, then the keys, then the values."""

    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config["num_attention_heads"]
        self.qkv_projection = nn.Linear(config["hidden_size"], 3 * config["hidden_size"], bias=config["qkv_bias"])
        self.attn_dropout = nn.Dropout(config["attention_probs_dropout_prob"])
        self.output_projection = nn.Linear(config["hidden_size"], config["hidden_size"])
        self.output_dropout = nn.Dropout(config["hidden_dropout_prob"])

    def forward(self, x):
        batch, tokens, hidden = x.shape
        head_size = hidden // self.num_attention_heads
        qkv = self.qkv_projection(x).view(batch, tokens, 3, self.num_attention_heads, head_size)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, tokens, head_size)
        probs = F.softmax(query @ key.transpose(-1, -2) / math.sqrt(head_size), dim=-1)
        out = (self.attn_dropout(probs) @ value).transpose(1, 2).reshape(batch, tokens, hidden)
        return self.output_dropout(self.output_projection(out)), probs


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense_1 = nn.Linear(config["hidden_size"], config["intermediate_size"])
        self.activation = NewGELUActivation() if config["hidden_act"] == "gelu_new" else nn.GELU()
        self.dense_2 = nn.Linear(config["intermediate_size"], config["hidden_size"])
        self.dropout = nn.Dropout(config["hidden_dropout_prob"])

    def forward(self, x):
        return self.dropout(self.dense_2(self.activation(self.dense_1(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config):
        super().__init__()
        attention = FasterMultiHeadAttention if config.get("use_faster_attention") else MultiHeadAttention
        self.attention = attention(config)
        self.layernorm_1 = nn.LayerNorm(config["hidden_size"], eps=config["layer_norm_eps"])
        self.mlp = MLP(config)
        self.layernorm_2 = nn.LayerNorm(config["hidden_size"], eps=config["layer_norm_eps"])

    def forward(self, x):
        attention_output, probs = self.attention(self.layernorm_1(x))
        x = x + attention_output
        return x + self.mlp(self.layernorm_2(x)), probs


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.blocks = nn.ModuleList([Block(config) for _ in range(config["num_hidden_layers"])])

    def forward(self, x):
        all_probs = []
        for block in self.blocks:
            x, probs = block(x)
            all_probs.append(probs)
        return x, all_probs


class ViTForClassification(nn.Module):
    """Logits from the [CLS] token's output; also returns every block's attention probabilities."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embedding = Embeddings(config)
        self.encoder = Encoder(config)
        if config["final_layernorm"]:
            self.layernorm = nn.LayerNorm(config["hidden_size"], eps=config["layer_norm_eps"])
        self.classifier = nn.Linear(config["hidden_size"], config["num_classes"])
        self.apply(self._init_weights)

    def _init_weights(self, module):
        std = self.config["initializer_range"]
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, Embeddings):
            nn.init.trunc_normal_(module.position_embeddings, mean=0.0, std=std)
            nn.init.trunc_normal_(module.cls_token, mean=0.0, std=std)

    def forward(self, x):
        hidden, all_probs = self.encoder(self.embedding(x))
        if self.config["final_layernorm"]:
            hidden = self.layernorm(hidden)
        return self.classifier(hidden[:, 0]), all_probs
