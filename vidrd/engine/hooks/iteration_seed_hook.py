"""Per-iteration seeding, so a resumed run draws exactly what an uninterrupted one draws."""
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from vidrd.registry import HOOKS


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Seed the global torch RNG before every training iteration from (seed, iter, rank).

    The diffusion loss draws noise, timesteps and caption dropout, and dropout layers draw
    masks, from torch's global generator. Seeding it from the iteration number (instead of
    letting its state run on from the start) makes iteration k draw the same numbers whether or
    not the run was interrupted and resumed before it; ranks draw different numbers.
    """
    priority = 'HIGHEST'

    def __init__(self, seed: int = 0):
        self.seed = seed

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        base = runner.seed if runner.seed is not None else self.seed
        torch.manual_seed((base * 1_000_003 + runner.iter * 4_099 + get_rank()) % (2 ** 63))
