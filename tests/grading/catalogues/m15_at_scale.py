"""Typical mistakes in 15_at_scale (shard, rank_loss, ddp_gradients, memory_per_gpu, logit_cache_bytes)."""

from tests.grading.catalogues import Catalogue, Mistake

RANK_LOSS_FIRST = "check rank_loss first"

CATALOGUE = Catalogue(
    "15_at_scale",
    {
        "shard_no_epoch": Mistake(
            "the permutation is seeded without the epoch (a sampler never given set_epoch)",
            (("g.manual_seed(seed + epoch)", "g.manual_seed(seed)"),),
            {"test_shard": "the same rows in the same order every epoch"},
        ),
        "shard_contiguous": Mistake(
            "each rank takes a contiguous block of the permutation instead of every W-th entry",
            (
                (
                    "return order[rank:total:world_size]",
                    "per = total // world_size\n    return order[rank * per : (rank + 1) * per]",
                ),
            ),
            {"test_shard": "a rank takes a contiguous block of the permutation"},
        ),
        "hard_local_mean": Mistake(
            "each rank averages its own labelled rows (the mean of per-rank means)",
            (("hard = ce_sum * world_size / global_labelled", "hard = ce_sum / int(keep.sum())"),),
            {"test_rank_loss": "the mean of per-rank kd_loss", "test_ddp_gradients": RANK_LOSS_FIRST},
        ),
        "hard_not_times_world": Mistake(
            "the hard term divided by the global labelled count but not multiplied by world_size",
            (("hard = ce_sum * world_size / global_labelled", "hard = ce_sum / global_labelled"),),
            {"test_rank_loss": "world_size times too small", "test_ddp_gradients": RANK_LOSS_FIRST},
        ),
        "gradients_summed": Mistake(
            "the ranks' gradients are summed, as tf.distribute does, instead of averaged as DDP does",
            (("torch.stack(g).mean(0)", "torch.stack(g).sum(0)"),),
            {"test_ddp_gradients": "DDP averages the ranks, it does not sum them"},
        ),
        "ddp_memory_divided": Mistake(
            "DDP memory divided by the number of GPUs, as if DDP sharded the student",
            (
                (
                    'if strategy == "ddp":\n        return bytes_per_param * num_params\n',
                    'if strategy == "ddp":\n        return bytes_per_param * num_params / world_size\n',
                ),
            ),
            {"test_memory": "DDP keeps a full copy of the student on every GPU"},
        ),
        "topk_without_indices": Mistake(
            "the top-k cache counted without its int32 indices",
            (("return rows * top_k * (4 + 4)", "return rows * top_k * 4"),),
            {"test_cache_bytes": "a top-k cache stores the indices too"},
        ),
    },
    drop=(
        "run-md",
        "run",
        "run-discussion",
        "uneven-md",
        "uneven",
        "sizes",
        "sizes-discussion",
        "pitfalls",
        "scaling",
        "tensorflow",
    ),
    cell_timeout=60,
    memory_mb=2048,
)
