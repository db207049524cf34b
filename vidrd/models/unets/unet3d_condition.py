"""The video U-Net of VidRD: Stable Diffusion 2.1's 2D U-Net applied per frame, plus temporal
layers chosen in the config."""
import contextlib
import copy
from collections import deque
from dataclasses import dataclass
from typing import Any, Dict, Hashable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from einops import rearrange
from torch import nn

from vidrd.registry import MODELS, TEMPORAL_LAYERS

from .compile import CompiledForward
from .embeddings import TimestepEmbedding, timestep_embedding
from .resnet import video_group_norm
from .transformer import Attention, Context, TextConditioning
from vidrd.utils.errors import InvalidValueError

#: The released VidRD model: Temp-Conv after every ResNet, Temp-Attn with frame embedding in
#: every transformer block of every level.
ORIGINAL_TEMPORAL_LAYERS = dict(
    temporal_conv=dict(type='TemporalConv', num_layers=4, dropout=0.1),
    temporal_attention=dict(type='TemporalAttention', frame_embedding=True),
    temporal_attention_levels=('down', 'mid', 'up'))


@dataclass
class _CacheEntry:
    features: torch.Tensor  # the hidden state entering the shallow up-branch
    uses: int = 0           # cached calls since it was computed


class StepCache:
    """Deep features of the U-Net reused across adjacent sampling steps (DeepCache, Ma et al.
    2024, Sec. 3.2).

    Adjacent denoising steps change the deep, low-resolution features of a U-Net little. A
    *full* call computes everything and keeps the hidden state that enters the up path at
    skip branch ``branch``; the next ``interval - 1`` calls of the same input stream compute
    only the shallow branch: ``conv_in``, the down layers that make the first ``branch``
    skip outputs, then the up layers that consume them, starting from the kept state (the
    paper's eq. 6: U_m(Concat(D_m(...), F_cache))).

    Skip branches are counted from the shallowest: branch 1 is ``conv_in``'s output (only the
    last up layer is recomputed), branch 2 adds the first down layer (DeepCache's shallowest
    setting for SD: the first down layer and the up layers that take its output and
    ``conv_in``'s), up to ``num_branches`` (only the mid block is cached).

    Reuse is only ever within a *stream*, which the sampler names (a clip, a window group):
    calls outside a stream run in full. Within a stream, an entry belongs to one input
    signature (shape, dtype, device, timestep shape, the text conditioning's storage), so a
    guidance batch of another shape or another prompt gets its own entry, never another's
    features. Calls in grad mode, or of a U-Net in training mode, run in full and leave the
    cache alone (cached features carry no gradient).

    Args:
        interval: N: a full call, then N - 1 calls that reuse its features (1: every call
            full, the numbers of no caching).
        branch: the skip branch where the shallow part ends, in [1, num_branches].
        num_branches: the U-Net's skip connections.

    Attributes:
        stream: the current stream (None: no caching).
        log: ``(stream, full)`` of the latest calls, for checks.
    """

    def __init__(self, interval: int, branch: int, num_branches: int):
        if int(interval) != interval or interval < 1:
            raise InvalidValueError(f'step cache: interval must be an int >= 1 (1: no reuse), got '
                                    f'{interval!r}')
        if int(branch) != branch or not 1 <= branch <= num_branches:
            raise InvalidValueError(
                f'step cache: branch must be an int in [1, {num_branches}] (the '
                f'U-Net\'s skip branches, shallowest first), got {branch!r}')
        self.interval, self.branch, self.num_branches = int(interval), int(branch), num_branches
        self.entries: Dict[Hashable, _CacheEntry] = {}
        self.stream: Optional[Hashable] = None
        self.log: deque = deque(maxlen=100_000)

    def __repr__(self) -> str:
        return (f'StepCache(interval={self.interval}, branch={self.branch}/{self.num_branches}, '
                f'entries={len(self.entries)})')

    @contextlib.contextmanager
    def use(self, stream: Hashable):
        """Calls inside share features with earlier calls of the same ``stream`` (and input
        signature)."""
        previous, self.stream = self.stream, stream
        try:
            yield self
        finally:
            self.stream = previous

    def clear(self) -> None:
        """Forget every kept feature (e.g. when a new clip starts)."""
        self.entries.clear()

    @property
    def full_calls(self) -> int:
        return sum(1 for _, full in self.log if full)

    @property
    def cached_calls(self) -> int:
        return sum(1 for _, full in self.log if not full)


def _input_signature(sample: torch.Tensor, timestep: torch.Tensor, context) -> tuple:
    """What must match for a call to reuse another's features (besides the stream)."""
    states = getattr(context, 'states', context)
    return (tuple(sample.shape), sample.dtype, sample.device, tuple(timestep.shape),
            states.data_ptr(), tuple(states.shape), tuple(states.stride()))


@MODELS.register_module()
class UNet3DConditionModel(nn.Module):
    """Text-conditioned video U-Net, SD-2.1-base shaped by default.

    Spatial layers (ResNets, linear-projection transformers, resamplers) act on every frame of
    (B*F, C, H, W) and carry diffusers' ``UNet2DConditionModel`` parameter names, so an SD-2.1
    ``unet/`` folder loads without renaming. Temporal layers are registered components
    (``TEMPORAL_LAYERS``) placed by three config entries (see ``blocks.py``); ``None`` removes a
    kind. Every temporal parameter name contains ``temp_``.

    Args:
        num_attention_heads: heads of the spatial transformers per level (SD-2.1: 5, 10, 20, 20;
            diffusers' 2D config calls this ``attention_head_dim``).
        temporal_conv: config of the layer after each ResNet (VidRD: ``TemporalConv``).
        temporal_attention: config of the in-block temporal layer (VidRD: ``TemporalAttention``).
        temporal_attention_levels: where the in-block temporal layer goes, a subset of
            ('down', 'mid', 'up'); the original ``add_temp_attn_only_on_upblocks`` is ('up',).
        temporal_module: config of a layer after each spatial transformer (e.g. a plugin's
            AnimateDiff-style motion module).
        temporal_module_levels: where ``temporal_module`` goes, a subset of ('down', 'mid',
            'up') (AnimateDiff v1 has no motion module in the mid block).
        temporal_module_in_resnet_blocks: also put ``temporal_module`` after every ResNet of
            the blocks without transformers (AnimateDiff's ``DownBlockMotion`` / ``UpBlockMotion``).
        temporal_input: config of a layer right after ``conv_in``, stored as ``transformer_in``
            (ModelScope T2V's ``TemporalTransformer``); its parameters count as temporal.
        norm_over_frames: GroupNorm statistics of the ResNets and the output norm span all
            frames of a video, as in the original VidRD (its GroupNorms see the 5-D tensor);
            ``False`` gives per-frame statistics, i.e. exactly the image model on every frame
            when the temporal layers are at init.
        gradient_checkpointing: recompute activations of every block in backward.
        compile: ``torch.compile`` the forward (inductor): ``True``, or a dict of
            ``torch.compile`` options (``mode``, ``dynamic``, ``backend`` ...). Where compiling
            fails the model logs why and runs eagerly from then on (see ``compile.py``).
        channels_last: run the spatial layers in channels-last memory format: the convs take
            it natively, the transformers' token views and Temp-Conv's (B, C, F, H, W) view
            become free of copies. Off gives the plain contiguous layout (same numbers).

    Step caching (DeepCache): :meth:`step_cache_session` turns it on for a sampling run (the
    samplers' ``step_cache`` option); off, the forward is exactly as without it. It applies
    to this U-Net and every one built on it (SD-2.1, the released model, ModelScope,
    AnimateDiff), whose up path consumes each skip output of the down path once.

    Shapes: ``forward(sample (B, C, F, H, W), timestep () / (B,) / (B, F),
    encoder_hidden_states (B, S, D)) -> (B, C_out, F, H, W)``. A (B, F) timestep gives every
    frame its own noise level (FIFO-Diffusion, Diffusion Forcing): the spatial layers run per
    frame, so each frame's ResNets get the embedding of its own timestep; temporal layers see
    no timestep and are unchanged.
    """

    def __init__(self,
                 in_channels: int = 4,
                 out_channels: int = 4,
                 block_out_channels: Sequence[int] = (320, 640, 1280, 1280),
                 down_block_types: Sequence[str] = ('CrossAttnDownBlock2D',) * 3 + ('DownBlock2D',),
                 up_block_types: Sequence[str] = ('UpBlock2D',) + ('CrossAttnUpBlock2D',) * 3,
                 mid_block_type: str = 'UNetMidBlock2DCrossAttn',
                 layers_per_block: int = 2,
                 num_attention_heads: Union[int, Sequence[int]] = (5, 10, 20, 20),
                 cross_attention_dim: int = 1024,
                 use_linear_projection: bool = True,
                 norm_num_groups: int = 32,
                 norm_eps: float = 1e-5,
                 downsample_padding: int = 1,
                 flip_sin_to_cos: bool = True,
                 freq_shift: float = 0,
                 dropout: float = 0.0,
                 norm_over_frames: bool = True,
                 temporal_conv: Optional[dict] = ORIGINAL_TEMPORAL_LAYERS['temporal_conv'],
                 temporal_attention: Optional[dict] = ORIGINAL_TEMPORAL_LAYERS['temporal_attention'],
                 temporal_attention_levels: Sequence[str] = ('down', 'mid', 'up'),
                 temporal_module: Optional[dict] = None,
                 temporal_module_levels: Sequence[str] = ('down', 'mid', 'up'),
                 temporal_module_in_resnet_blocks: bool = False,
                 temporal_input: Optional[dict] = None,
                 gradient_checkpointing: bool = False,
                 compile: Union[bool, dict] = False,
                 channels_last: bool = True):
        # the constructor arguments: export_config() rebuilds the architecture from them
        config = copy.deepcopy({k: v for k, v in locals().items()
                                if k not in ('self', '__class__')})
        super().__init__()
        self.config = config
        levels = len(block_out_channels)
        if isinstance(num_attention_heads, int):
            num_attention_heads = (num_attention_heads,) * levels
        if not (len(down_block_types) == len(up_block_types) == len(num_attention_heads) == levels):
            raise InvalidValueError('down_block_types, up_block_types, num_attention_heads and '
                                    'block_out_channels must have one entry per level')
        for name, chosen in (('temporal_attention_levels', temporal_attention_levels),
                             ('temporal_module_levels', temporal_module_levels)):
            unknown = set(chosen) - {'down', 'mid', 'up'}
            if unknown:
                raise InvalidValueError(f'{name}: unknown level(s) {sorted(unknown)}; '
                                        "use a subset of ('down', 'mid', 'up')")
        self.in_channels = in_channels
        self.norm_over_frames = norm_over_frames
        self.num_upsamplers = levels - 1
        temb_channels = block_out_channels[0] * 4
        self.flip_sin_to_cos, self.freq_shift = flip_sin_to_cos, freq_shift
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(block_out_channels[0], temb_channels)
        self.transformer_in = (None if temporal_input is None else TEMPORAL_LAYERS.build(
            temporal_input, default_args=dict(in_channels=block_out_channels[0])))

        def common(level: str) -> dict:
            return dict(
                temb_channels=temb_channels, cross_attention_dim=cross_attention_dim,
                resnet_groups=norm_num_groups, resnet_eps=norm_eps, dropout=dropout,
                norm_over_frames=norm_over_frames,
                use_linear_projection=use_linear_projection,
                temporal_conv=copy.deepcopy(temporal_conv),
                temporal_attention=(copy.deepcopy(temporal_attention)
                                    if level in temporal_attention_levels else None),
                temporal_module=(copy.deepcopy(temporal_module)
                                 if level in temporal_module_levels else None),
                temporal_module_in_resnet_blocks=temporal_module_in_resnet_blocks)

        self.down_blocks = nn.ModuleList()
        out_ch = block_out_channels[0]
        for i, block_type in enumerate(down_block_types):
            in_ch, out_ch = out_ch, block_out_channels[i]
            self.down_blocks.append(MODELS.build(dict(
                type=block_type, in_channels=in_ch, out_channels=out_ch,
                num_layers=layers_per_block, add_downsample=i < levels - 1,
                downsample_padding=downsample_padding, num_heads=num_attention_heads[i],
                **common('down'))))
        self.mid_block = MODELS.build(dict(
            type=mid_block_type, in_channels=block_out_channels[-1],
            num_heads=num_attention_heads[-1], **common('mid')))
        self.up_blocks = nn.ModuleList()
        rev_channels = list(reversed(block_out_channels))
        rev_heads = list(reversed(num_attention_heads))
        out_ch = rev_channels[0]
        for i, block_type in enumerate(up_block_types):
            prev_ch, out_ch = out_ch, rev_channels[i]
            in_ch = rev_channels[min(i + 1, levels - 1)]
            self.up_blocks.append(MODELS.build(dict(
                type=block_type, in_channels=in_ch, prev_output_channel=prev_ch,
                out_channels=out_ch, num_layers=layers_per_block + 1,
                add_upsample=i < levels - 1, num_heads=rev_heads[i], **common('up'))))
        self.conv_norm_out = nn.GroupNorm(norm_num_groups, block_out_channels[0], eps=norm_eps)
        self.conv_out = nn.Conv2d(block_out_channels[0], out_channels, 3, padding=1)
        self.enable_gradient_checkpointing(gradient_checkpointing)
        self.channels_last = channels_last
        self._pointwise_weights_channels_last()
        for name, module in self.named_modules():
            if isinstance(module, Attention) and name.endswith('.attn2'):
                module.kv_name = name  # its K / V in a TextConditioning
        self._compiled = CompiledForward(compile, type(self).__name__)
        self.step_cache: Optional[StepCache] = None

    # ------------------------------------------------------------------------ constructors
    @staticmethod
    def from_pretrained_2d(folder: str, trust_pickle: bool = False,
                           **overrides) -> 'UNet3DConditionModel':
        """The video U-Net with an SD-2.x ``unet/`` folder's spatial weights, temporal layers
        at their init (:func:`vidrd.models.unets.loading.build_unet_from_pretrained_2d`).

        Args:
            folder (str): An SD-2.x ``unet/`` folder or its parent.
            trust_pickle (bool): Allow a pickled (``.bin``) weights file that needs arbitrary
                code to load. Defaults to False.
            **overrides: Constructor arguments (e.g. ``temporal_attention=None``).

        Returns:
            UNet3DConditionModel: The model with the image U-Net's weights.
        """
        from .loading import build_unet_from_pretrained_2d
        return build_unet_from_pretrained_2d(folder, trust_pickle=trust_pickle, **overrides)

    @staticmethod
    def from_original_checkpoint(checkpoint: str, unet_config: Union[str, dict, None] = None,
                                 trust_pickle: bool = False,
                                 **overrides) -> 'UNet3DConditionModel':
        """The U-Net of the original release's ``ModelT2V.pth``
        (:func:`vidrd.models.unets.loading.load_original_unet`).

        Args:
            checkpoint (str): Path to ``ModelT2V.pth`` (or a safetensors file with its keys).
            unet_config (str | dict, optional): The architecture: an SD ``unet/`` folder or
                ``config.json``, or a dict of constructor arguments; SD-2.1-base when None.
                Defaults to None.
            trust_pickle (bool): Allow a pickle that needs arbitrary code to load. Defaults to
                False.
            **overrides: Constructor arguments; by default the released temporal layers.

        Returns:
            UNet3DConditionModel: The released model's U-Net.
        """
        from .loading import load_original_unet
        return load_original_unet(checkpoint, unet_config, trust_pickle=trust_pickle,
                                  **overrides)

    @staticmethod
    def from_modelscope(folder: str, trust_pickle: bool = False,
                        **overrides) -> 'UNet3DConditionModel':
        """The U-Net of a ModelScope T2V / Zeroscope diffusers folder
        (:func:`vidrd.models.unets.modelscope.build_modelscope_unet`).

        Args:
            folder (str): The ``unet/`` folder or its parent.
            trust_pickle (bool): Allow a pickle that needs arbitrary code to load. Defaults to
                False.
            **overrides: Constructor arguments (e.g. ``gradient_checkpointing=True``).

        Returns:
            UNet3DConditionModel: The model with every weight loaded by name.
        """
        from .modelscope import build_modelscope_unet
        return build_modelscope_unet(folder, trust_pickle=trust_pickle, **overrides)

    # ----------------------------------------------------------------------------- helpers
    def _pointwise_weights_channels_last(self) -> None:
        """Give 1x1 conv weights (C_out, C_in, 1, 1) the strides (C_in, 1, C_in, C_in).

        On channels-last activations (the default layout; the transformers return such views
        either way) their gradients come out with those strides. Same memory
        order, still ``is_contiguous()`` (safetensors takes it), but DDP compares strides
        exactly: with default strides it copies these gradients out of its buckets and warns
        "Grad strides do not match bucket view strides" on every run.
        """
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1):
                weight = module.weight.data
                c_in = weight.shape[1]  # (the memory-format API leaves size-1 strides as they are)
                module.weight.data = torch.empty_strided(
                    weight.shape, (c_in, 1, c_in, c_in), dtype=weight.dtype,
                    device=weight.device).copy_(weight)

    def blocks(self) -> Iterator[nn.Module]:
        yield from self.down_blocks
        yield self.mid_block
        yield from self.up_blocks

    def enable_gradient_checkpointing(self, enabled: Union[bool, Sequence[str]] = True) -> None:
        """Recompute activations in backward: ``True`` for every block, or a list of block
        names (``'down_blocks.0'``, ``'mid_block'``, ``'up_blocks.3'``)."""
        named = dict(self.named_children())
        names = {f'down_blocks.{i}' for i in range(len(self.down_blocks))}
        names |= {f'up_blocks.{i}' for i in range(len(self.up_blocks))} | {'mid_block'}
        chosen = names if enabled is True else set(enabled or ())
        unknown = chosen - names
        if unknown:
            raise InvalidValueError(f'gradient checkpointing: unknown block(s) {sorted(unknown)}; '
                                    f'choose from {sorted(names)}')
        for name in names:
            prefix, _, idx = name.partition('.')
            block = named[prefix][int(idx)] if idx else named[prefix]
            block.gradient_checkpointing = name in chosen

    def temporal_parameters(self) -> Iterator[Tuple[str, nn.Parameter]]:
        """(name, parameter) of every temporal layer."""
        return ((n, p) for n, p in self.named_parameters() if is_temporal_key(n))

    # ----------------------------------------------------------------------------- forward
    def export_config(self, folder: str) -> dict:
        """A config that rebuilds this architecture from no file (weights come separately)."""
        return dict(type='UNet3DConditionModel', **copy.deepcopy(self.config))

    @torch.no_grad()
    def precompute_text_conditioning(self, encoder_hidden_states: torch.Tensor
                                     ) -> TextConditioning:
        """Cross-attention K / V of fixed embeddings (B, S, D) for every layer, computed once.

        Pass the result as ``encoder_hidden_states`` to any number of forwards (all DDIM steps
        and clips of a sampling run): it gives the same output as the embeddings themselves.
        Inference only (no gradient flows into the cached K / V).
        """
        states = encoder_hidden_states
        kv = {m.kv_name: m.key_value(states) for m in self.modules()
              if isinstance(m, Attention) and m.kv_name is not None}
        return TextConditioning(states=states, kv=kv)

    def forward(self, sample: torch.Tensor, timestep: Union[torch.Tensor, float, int],
                encoder_hidden_states: Context) -> torch.Tensor:
        """``sample`` (B, C, F, H, W), ``timestep`` a scalar, (B,) or per frame (B, F) (or
        (1, F), the same for every video), ``encoder_hidden_states`` (B, S, D) or its
        :meth:`precompute_text_conditioning` -> (B, C_out, F, H, W)."""
        if not torch.is_tensor(timestep):
            timestep = torch.tensor([timestep], device=sample.device)
        frames = sample.shape[0], sample.shape[2]
        if timestep.ndim > 2 or (timestep.ndim == 2 and timestep.shape not in (
                frames, (1, frames[1]))):
            raise ValueError(f'timestep of shape {tuple(timestep.shape)} for a sample of shape '
                             f'{tuple(sample.shape)}: give a scalar, (B,) or per frame (B, F) '
                             f'= {frames}')
        cache = self.step_cache
        if (cache is not None and cache.stream is not None and not self.training
                and not torch.is_grad_enabled()):
            return self._cached_forward(cache, sample, timestep, encoder_hidden_states)
        return self._compiled(self._forward, sample, timestep, encoder_hidden_states)

    # ----------------------------------------------------------------------- step caching
    @property
    def num_skip_branches(self) -> int:
        """Skip connections from the down path to the up path (``conv_in``'s output, every
        down layer's, every downsampler's)."""
        return 1 + sum(block.num_skips for block in self.down_blocks)

    @contextlib.contextmanager
    def step_cache_session(self, interval: int = 3, branch: int = 2):
        """Step caching (DeepCache) for one sampling run: yields the :class:`StepCache`,
        whose ``use(stream)`` the sampler wraps its calls in; on exit the cache is dropped and
        the U-Net computes every call in full again.

        Args:
            interval: a full call every ``interval`` calls of a stream.
            branch: the skip branch where the recomputed shallow part ends (see
                :class:`StepCache`).
        """
        if self.step_cache is not None:
            raise RuntimeError(f'{type(self).__name__}: a step cache session is already open')
        up_layers = sum(len(block.resnets) for block in self.up_blocks)
        if up_layers != self.num_skip_branches:
            raise ValueError(f'{type(self).__name__}: step caching needs an up path that takes '
                             f'each of the {self.num_skip_branches} skip outputs once, this one '
                             f'has {up_layers} up layers; it does not apply here')
        self.step_cache = StepCache(interval, branch, self.num_skip_branches)
        try:
            yield self.step_cache
        finally:
            self.step_cache = None

    def _cached_forward(self, cache: StepCache, sample: torch.Tensor, timestep: torch.Tensor,
                        context: Context) -> torch.Tensor:
        """A full call that keeps its deep features, or a shallow one that reuses them (eager:
        the branching is per call)."""
        key = (cache.stream, _input_signature(sample, timestep, context))
        entry = cache.entries.get(key)
        if entry is None or entry.uses + 1 >= cache.interval:
            out, deep = self._branched_forward(sample, timestep, context, cache.branch)
            cache.entries[key] = _CacheEntry(deep.detach())
            cache.log.append((cache.stream, True))
            return out
        out, _ = self._branched_forward(sample, timestep, context, cache.branch,
                                        deep=entry.features)
        entry.uses += 1
        cache.log.append((cache.stream, False))
        return out

    def _branched_forward(self, sample: torch.Tensor, timestep: torch.Tensor, context: Context,
                          branch: int, deep: Optional[torch.Tensor] = None
                          ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The forward, split at skip branch ``branch``: without ``deep``, in full (the same
        operations as :meth:`_forward`), returning also the hidden state entering the up
        layer that takes skip ``branch - 1``; with ``deep`` (that state from an earlier call),
        only the shallow branch."""
        b, c, f, h, w = sample.shape
        temb, x = self._prologue(sample, timestep)
        skips: List[Any] = [x]
        total = self.num_skip_branches
        if deep is None:
            for block in self.down_blocks:
                x, block_skips = block(x, temb, context, f)
                skips.extend(block_skips)
            x = self.mid_block(x, temb, context, f)
        else:
            for block in self.down_blocks:
                if len(skips) >= branch:
                    break
                x, block_skips = block(x, temb, context, f, max_skips=branch - len(skips))
                skips.extend(block_skips)
            skips.extend([None] * (total - len(skips)))  # the deep skips are not needed
            x = deep
        enter = total - branch  # up layers are numbered 0..total-1; this one takes skip b-1
        needs_size = any(s % (2 ** self.num_upsamplers) for s in (h, w))
        captured, first = None, 0
        for block in self.up_blocks:
            n = len(block.resnets)
            block_skips, skips = tuple(skips[-n:]), skips[:-n]
            if first + n <= enter and deep is not None:
                first += n
                continue  # a deep block: its output is in `deep`
            size = skips[-1].shape[-2:] if (needs_size and skips) else None
            split = min(max(enter - first, 0), n)
            if deep is None:
                if split > 0:
                    x = block(x, block_skips, temb, context, f, upsample_size=size,
                              layers=(0, split))
                if first + split == enter:
                    captured = x
                if split < n:
                    x = block(x, block_skips, temb, context, f, upsample_size=size,
                              layers=(split, n))
            else:
                x = block(x, block_skips, temb, context, f, upsample_size=size,
                          layers=(split, n))
            first += n
        return self._epilogue(x, f), captured

    def frame_time_embedding(self, timestep: torch.Tensor, batch: int, frames: int,
                             dtype: torch.dtype) -> torch.Tensor:
        """The time embedding of every frame, (B*F, T), frames of a video adjacent.

        ``timestep``: (), (1,), (B,) or (B, F) / (1, F). A per-frame timestep whose frames all
        share one value takes the per-video path, so it equals the scalar call bit for bit.
        """
        if timestep.ndim == 2:
            timestep = timestep.expand(batch, frames)
            if not bool((timestep == timestep[:, :1]).all()):
                temb = timestep_embedding(timestep.reshape(-1), self.conv_in.out_channels,
                                          self.flip_sin_to_cos, self.freq_shift).to(dtype)
                return self.time_embedding(temb)
            timestep = timestep[:, 0]
        timestep = timestep.reshape(-1).expand(batch)
        temb = timestep_embedding(timestep, self.conv_in.out_channels, self.flip_sin_to_cos,
                                  self.freq_shift).to(dtype)
        return self.time_embedding(temb).repeat_interleave(frames, dim=0)

    def _prologue(self, sample: torch.Tensor, timestep: torch.Tensor
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(time embedding (B*F, T), ``conv_in`` (+ ``transformer_in``) output (B*F, C, H, W))."""
        b, c, f, h, w = sample.shape
        temb = self.frame_time_embedding(timestep.to(sample.device), b, f, sample.dtype)
        # frames of a video adjacent; channels-last: the layout of every block from here on
        x = rearrange(sample, 'b c f h w -> (b f) c h w')
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.conv_in(x)
        if self.transformer_in is not None:
            x = self.transformer_in(x, f)
        return temb, x

    def _epilogue(self, x: torch.Tensor, f: int) -> torch.Tensor:
        x = video_group_norm(x, self.conv_norm_out, f if self.norm_over_frames else 1,
                             silu=True)
        x = self.conv_out(x)
        return rearrange(x, '(b f) c h w -> b c f h w', f=f)

    def _forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                 encoder_hidden_states: Context) -> torch.Tensor:
        b, c, f, h, w = sample.shape
        context = encoder_hidden_states  # (B, S, D): shared by all frames of a video
        temb, x = self._prologue(sample, timestep)
        skips = [x]
        for block in self.down_blocks:
            x, block_skips = block(x, temb, context, f)
            skips.extend(block_skips)
        x = self.mid_block(x, temb, context, f)
        # odd sizes: upsample to the skip's size instead of 2x
        needs_size = any(s % (2 ** self.num_upsamplers) for s in (h, w))
        for block in self.up_blocks:
            n = len(block.resnets)
            block_skips, skips = skips[-n:], skips[:-n]
            size = skips[-1].shape[-2:] if (needs_size and skips) else None
            x = block(x, tuple(block_skips), temb, context, f, upsample_size=size)
        return self._epilogue(x, f)


def is_temporal_key(name: str) -> bool:
    """Whether a parameter / state-dict key belongs to a temporal layer (``temp_`` in a name,
    or ModelScope's ``transformer_in``)."""
    return name.startswith('transformer_in.') or any(
        part.startswith('temp_') for part in name.split('.'))
