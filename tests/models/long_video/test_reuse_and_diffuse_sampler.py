import pytest
import torch

from long_video_toys import Recorder
from vidrd.models.long_video import GeneratedClip, ReuseAndDiffuseSampler
from vidrd.registry import MODELS

N, M, S = 8, 3, 5
FNR = dict(type='FrameNoiseReversion')
PNS = dict(type='PastDependentNoiseSampling', alpha=2.0)
DSG = dict(type='StagedGuidanceDenoising', beta=0.6)
LATENT = (4, 3, 3)


def _sampler(strategies, **kw):
    kw = dict(dict(num_frames=N, num_prompt_frames=M, num_inference_steps=S,
                   guidance_scale=5.0, progress=False), **kw)
    return MODELS.build(dict(type='ReuseAndDiffuseSampler', strategies=strategies, **kw))


def _run(strategies, unet, scheduler, embeds, clips=3, seed=0, **kw):
    recorder = Recorder()
    sampler = _sampler(list(strategies) + [recorder], **kw)
    out = sampler.sample(unet, scheduler, embeds[0], embeds[1], latent_shape=LATENT,
                         num_clips=clips, seed=seed)
    return out, recorder


# -- build-time refusals -----------------------------------------------------------------------
@pytest.mark.parametrize('cfg,match', [
    (dict(num_frames=8, num_prompt_frames=8), r'num_prompt_frames \(M=8\) must be in \[0, num_fr'),
    (dict(num_frames=8, num_prompt_frames=9), r'must be in \[0, num_frames\)'),
    (dict(num_prompt_frames=0, strategies=[DSG]), 'StagedGuidanceDenoising needs prompt frames'),
    (dict(num_prompt_frames=0, strategies=[FNR]), 'FrameNoiseReversion needs prompt frames'),
    (dict(strategies=[dict(type='PastDependentNoiseSampling', alpha=-1)]), 'alpha must be'),
    (dict(strategies=[dict(type='StagedGuidanceDenoising', beta=1.5)]), r'beta must be in \[0, '),
])
def test_bad_combinations_are_refused_at_build_time(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='ReuseAndDiffuseSampler', **cfg))


def test_unknown_or_foreign_strategy_refused():
    with pytest.raises(KeyError, match='NoSuchStrategy'):
        ReuseAndDiffuseSampler(strategies=[dict(type='NoSuchStrategy')])
    with pytest.raises(TypeError, match='not a LongVideoStrategy'):
        ReuseAndDiffuseSampler(strategies=[object()])


def test_guidance_needs_negative_embeddings(toy_unet, toy_scheduler, embeds):
    with pytest.raises(ValueError, match='needs negative_prompt_embeds'):
        _sampler([]).sample(toy_unet, toy_scheduler, embeds[0], latent_shape=LATENT)


# -- ablations: removing a strategy changes exactly what it owns -------------------------------
def test_removing_fnr_changes_only_the_prompt_frames_initial_noise(toy_unet, toy_scheduler, embeds):
    full, rec_full = _run([FNR, PNS, DSG], toy_unet, toy_scheduler, embeds)
    ablated, rec = _run([PNS, DSG], toy_unet, toy_scheduler, embeds)
    assert torch.equal(full.clip_latents[0], ablated.clip_latents[0])
    assert torch.equal(rec_full.initial[1][:, :, M:], rec.initial[1][:, :, M:])
    assert not torch.equal(rec_full.initial[1][:, :, :M], rec.initial[1][:, :, :M])


def test_removing_pns_changes_only_the_other_frames_initial_noise(toy_unet, toy_scheduler, embeds):
    full, rec_full = _run([FNR, PNS, DSG], toy_unet, toy_scheduler, embeds)
    ablated, rec = _run([FNR, DSG], toy_unet, toy_scheduler, embeds)
    assert torch.equal(full.clip_latents[0], ablated.clip_latents[0])
    assert torch.equal(rec_full.initial[1][:, :, :M], rec.initial[1][:, :, :M])
    for j in range(M, N):
        assert not torch.equal(rec_full.initial[1][:, :, j], rec.initial[1][:, :, j])


def test_removing_dsg_changes_only_the_guided_steps(toy_unet, toy_scheduler, embeds):
    full, rec_full = _run([FNR, PNS, DSG], toy_unet, toy_scheduler, embeds)
    ablated, rec = _run([FNR, PNS], toy_unet, toy_scheduler, embeds)
    assert torch.equal(full.clip_latents[0], ablated.clip_latents[0])
    for clip in (1, 2):  # initial noise depends on the previous initial noise only
        assert torch.equal(rec_full.initial[clip], rec.initial[clip])
    # clip 1, with a frame-wise model: only prompt frames differ, from the first step they are
    # guided at after step 0 (at step 0 DSG is a no-op: FNR already set z^{1,j}_0 = z^{0,N-1-j}_0)
    stage_end = {j: (M - j) * (S / M) * 0.6 for j in range(M)}  # 3.0, 2.0, 1.0: frame 2 only s=0
    for s in range(S):
        for f in range(N):
            same = torch.equal(rec_full.steps[1, s][:, :, f], rec.steps[1, s][:, :, f])
            assert same == (f >= M or s == 0 or stage_end[f] <= 1), (s, f)
    assert torch.equal(full.clip_latents[1][:, :, M:], ablated.clip_latents[1][:, :, M:])


def test_shared_noise_and_independent_clips(toy_unet, toy_scheduler, embeds):
    _, shared = _run([dict(type='SharedNoise')], toy_unet, toy_scheduler, embeds)
    assert torch.equal(shared.initial[0], shared.initial[2])
    _, independent = _run([dict(type='IndependentClips')], toy_unet, toy_scheduler, embeds)
    assert torch.equal(independent.initial[0], shared.initial[0])  # same seed, same first clip
    assert not torch.equal(independent.initial[1][:, :, 0], independent.initial[0][:, :, N - 1])


# -- seed-compatible random draws ----------------------------------------------------------------
def test_seed_compatible_draw_order(toy_unet, toy_scheduler, embeds):
    _, rec = _run([dict(type='IndependentClips')], toy_unet, toy_scheduler, embeds, seed=7)
    g = torch.Generator().manual_seed(7)
    b = embeds[0].shape[0]
    first = torch.cat([torch.normal(0, 1, size=(b, 4, 1, 3, 3), generator=g) for _ in range(N)], 2)
    assert torch.equal(rec.initial[0], first)
    for clip in (1, 2):
        assert torch.equal(rec.initial[clip], torch.normal(0, 1, size=(b, 4, N, 3, 3), generator=g))


def test_same_seed_same_video_and_other_seed_differs(toy_unet, toy_scheduler, embeds):
    a, _ = _run([FNR, PNS, DSG], toy_unet, toy_scheduler, embeds, seed=3)
    b, _ = _run([FNR, PNS, DSG], toy_unet, toy_scheduler, embeds, seed=3)
    c, _ = _run([FNR, PNS, DSG], toy_unet, toy_scheduler, embeds, seed=4,
                seed_compatible=False)
    assert torch.equal(a.clip_latents, b.clip_latents)
    assert not torch.equal(a.clip_latents, c.clip_latents)


# -- guidance, decoding, sink, storyline --------------------------------------------------------
def test_guidance_is_one_batched_call(toy_unet, toy_scheduler, embeds):
    _run([], toy_unet, toy_scheduler, embeds, clips=1)
    assert len(toy_unet.calls) == S
    assert toy_unet.calls[0] == ((4, 4, N, 3, 3), (4, 3, 4))  # [uncond; cond] x B=2
    toy_unet.calls.clear()
    _run([], toy_unet, toy_scheduler, (embeds[0], None), clips=1, guidance_scale=1.0)
    assert toy_unet.calls[0] == ((2, 4, N, 3, 3), (2, 3, 4))


def test_guidance_formula(toy_unet, toy_scheduler, embeds):
    """eps = eps_u + w (eps_c - eps_u): with the toy model eps_c - eps_u = mean(c) - mean(u)."""
    w = 5.0
    out, rec = _run([], toy_unet, toy_scheduler, embeds, clips=1, guidance_scale=w)
    x, t0 = rec.steps[0, 0], 1000  # first timestep of the linear toy scheduler for S=5
    eps_u = toy_unet(x, t0, embeds[1])
    eps_c = toy_unet(x, t0, embeds[0])
    torch.testing.assert_close(rec.steps[0, 1], x - 0.1 * (eps_u + w * (eps_c - eps_u)))


def _decode(latents):  # (B, C, F, h, w) -> (B, 3, F, 2h, 2w)
    return latents[:, :3].repeat_interleave(2, -1).repeat_interleave(2, -2)


@pytest.mark.parametrize('drop', [False, True])
def test_decoded_output_keeps_or_drops_prompt_frames(toy_unet, toy_scheduler, embeds, drop):
    sampler = _sampler([FNR, PNS, DSG], drop_prompt_frames=drop)
    out = sampler.sample(toy_unet, toy_scheduler, *embeds, latent_shape=LATENT, num_clips=3,
                         seed=0, decode_fn=_decode)
    frames = N + 2 * (N - M) if drop else 3 * N
    assert out.video.shape == (2, 3, frames, 6, 6)
    assert out.clip_latents.shape == (3, 2, 4, N, 3, 3)
    second = out.video[:, :, N:N + (N - M if drop else N)]
    expected = _decode(out.clip_latents[1])[:, :, M:] if drop else _decode(out.clip_latents[1])
    assert torch.equal(second, expected)


def test_sink_receives_each_clip_in_order(toy_unet, toy_scheduler, embeds):
    got = []
    result = _sampler([FNR]).sample(toy_unet, toy_scheduler, *embeds, latent_shape=LATENT,
                                    num_clips=4, seed=0, decode_fn=_decode, sink=got.append)
    assert result is None
    assert [c.index for c in got] == [0, 1, 2, 3]
    assert all(isinstance(c, GeneratedClip) and c.video.shape == (2, 3, N, 6, 6) for c in got)


def test_storyline_uses_each_clips_prompt(toy_unet, toy_scheduler, embeds):
    cond, uncond = embeds
    other = cond + 1.0
    sampler = _sampler([FNR, PNS, DSG])
    story = sampler.sample(toy_unet, toy_scheduler, [cond, other, cond], uncond,
                           latent_shape=LATENT, seed=0)
    plain = sampler.sample(toy_unet, toy_scheduler, cond, uncond, latent_shape=LATENT,
                           num_clips=3, seed=0)
    assert story.clip_latents.shape[0] == 3
    assert torch.equal(story.clip_latents[0], plain.clip_latents[0])
    assert not torch.equal(story.clip_latents[1], plain.clip_latents[1])
    with pytest.raises(ValueError, match='2 per-clip embeddings'):
        sampler.sample(toy_unet, toy_scheduler, [cond, other], uncond, latent_shape=LATENT,
                       num_clips=3)


# -- autocast_dtype: the U-Net in lower precision, the rest in the latents' -------------------
def _tiny_unet():
    from vidrd.models.unets import UNet3DConditionModel
    torch.manual_seed(0)
    return UNet3DConditionModel(
        block_out_channels=(32,), num_attention_heads=2, cross_attention_dim=4,
        down_block_types=('CrossAttnDownBlock2D',), up_block_types=('CrossAttnUpBlock2D',),
        layers_per_block=1, norm_num_groups=8,
        temporal_conv=dict(type='TemporalConv', dropout=0.0, zero_init=False),
        temporal_attention=dict(type='TemporalAttention', zero_init=False)).eval()


def test_autocast_dtype_runs_the_unet_in_bf16_and_the_updates_in_fp32(embeds):
    from vidrd.models.schedulers import DDIMScheduler
    unet = _tiny_unet()
    seen = []
    unet.conv_in.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    outputs = {}
    for dtype in (None, 'bf16'):
        sampler = _sampler([FNR, PNS, DSG], autocast_dtype=dtype)
        outputs[dtype] = sampler.sample(unet, DDIMScheduler(), embeds[0], embeds[1],
                                        latent_shape=(4, 4, 4), num_clips=2, seed=0).clip_latents
    assert seen == [torch.float32] * (2 * S) + [torch.bfloat16] * (2 * S)
    fp32, bf16 = outputs[None], outputs['bf16']
    assert bf16.dtype == torch.float32
    error = float((bf16 - fp32).norm() / fp32.norm())
    assert 0 < error < 0.05, error  # bf16 rounding (8 bits of mantissa), not another sample


def test_autocast_dtype_accepts_the_tool_and_torch_names_and_refuses_others():
    assert _sampler([], autocast_dtype='fp16').autocast_dtype == torch.float16
    assert _sampler([], autocast_dtype=torch.bfloat16).autocast_dtype == torch.bfloat16
    with pytest.raises(ValueError, match="autocast_dtype='int8' is not one of"):
        _sampler([], autocast_dtype='int8')
