"""The seed's state_dict names and the two other layouts vit-ts reads: the fused one
(FasterMultiHeadAttention's qkv_projection) and Hugging Face's ViTForImageClassification."""
import torch

QKV = ("query", "key", "value")


def _qkv_kinds(config):
    return ("weight", "bias") if config["qkv_bias"] else ("weight",)


def per_head_to_fused(state, config):
    """Seed (per-head) names -> fused: each block's qkv_projection stacks the queries of heads 0..n-1, then keys, then values."""
    fused = {name: t for name, t in state.items() if ".attention.heads." not in name}
    for block in range(config["num_hidden_layers"]):
        prefix = f"encoder.blocks.{block}.attention."
        for kind in _qkv_kinds(config):
            fused[prefix + "qkv_projection." + kind] = torch.cat([
                state[prefix + f"heads.{head}.{which}.{kind}"]
                for which in QKV for head in range(config["num_attention_heads"])])
    return fused


def fused_to_per_head(state, config):
    """The inverse of per_head_to_fused."""
    per_head = {name: t for name, t in state.items() if ".qkv_projection." not in name}
    heads, size = config["num_attention_heads"], config["hidden_size"] // config["num_attention_heads"]
    for block in range(config["num_hidden_layers"]):
        prefix = f"encoder.blocks.{block}.attention."
        for kind in _qkv_kinds(config):
            rows = state[prefix + "qkv_projection." + kind].split(size)
            for j, which in enumerate(QKV):
                for head in range(heads):
                    per_head[prefix + f"heads.{head}.{which}.{kind}"] = rows[j * heads + head]
    return per_head


def hf_names(config):
    """Seed name of every tensor except the per-head q/k/v -> its Hugging Face name."""
    names = {
        "embedding.cls_token": "vit.embeddings.cls_token",
        "embedding.position_embeddings": "vit.embeddings.position_embeddings",
        "embedding.patch_embeddings.projection.weight": "vit.embeddings.patch_embeddings.projection.weight",
        "embedding.patch_embeddings.projection.bias": "vit.embeddings.patch_embeddings.projection.bias",
        "classifier.weight": "classifier.weight",
        "classifier.bias": "classifier.bias",
    }
    if config["final_layernorm"]:
        names["layernorm.weight"] = "vit.layernorm.weight"
        names["layernorm.bias"] = "vit.layernorm.bias"
    inside = {"layernorm_1": "layernorm_before", "layernorm_2": "layernorm_after",
              "attention.output_projection": "attention.output.dense",
              "mlp.dense_1": "intermediate.dense", "mlp.dense_2": "output.dense"}
    for block in range(config["num_hidden_layers"]):
        for seed, hf in inside.items():
            for kind in ("weight", "bias"):
                names[f"encoder.blocks.{block}.{seed}.{kind}"] = f"vit.encoder.layer.{block}.{hf}.{kind}"
    return names


def per_head_to_hf(state, config):
    """Seed names -> ViTForImageClassification's (one query, key and value Linear per layer: the heads' rows stacked)."""
    if not config["final_layernorm"]:
        raise ValueError("Hugging Face's ViTForImageClassification always applies a final LayerNorm; this model has none")
    hf = {hf_name: state[seed] for seed, hf_name in hf_names(config).items()}
    for block in range(config["num_hidden_layers"]):
        for which in QKV:
            for kind in _qkv_kinds(config):
                hf[f"vit.encoder.layer.{block}.attention.attention.{which}.{kind}"] = torch.cat([
                    state[f"encoder.blocks.{block}.attention.heads.{head}.{which}.{kind}"]
                    for head in range(config["num_attention_heads"])])
    return hf


CIFAR10_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def hf_config(config, labels):
    """transformers' config.json for the model (ViTConfig's keys)."""
    return {
        "architectures": ["ViTForImageClassification"], "model_type": "vit",
        "hidden_size": config["hidden_size"], "num_hidden_layers": config["num_hidden_layers"],
        "num_attention_heads": config["num_attention_heads"], "intermediate_size": config["intermediate_size"],
        "hidden_act": config["hidden_act"], "hidden_dropout_prob": config["hidden_dropout_prob"],
        "attention_probs_dropout_prob": config["attention_probs_dropout_prob"],
        "initializer_range": config["initializer_range"], "layer_norm_eps": config["layer_norm_eps"],
        "image_size": config["image_size"], "patch_size": config["patch_size"], "num_channels": config["num_channels"],
        "qkv_bias": config["qkv_bias"], "encoder_stride": config["patch_size"],
        "id2label": {str(i): label for i, label in enumerate(labels)},
        "label2id": {label: i for i, label in enumerate(labels)},
    }
