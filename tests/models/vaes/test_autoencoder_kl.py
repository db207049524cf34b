"""AutoencoderKL: SD VAE parity with diffusers, VidRD's temporal decoder parity with the
original release (fixtures), folder loading / saving and its errors."""
import json
import os.path as osp
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

from vidrd.models.vaes import VIDRD_TEMPORAL_CONV, AutoencoderKL, DiagonalGaussian
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import (CheckpointMismatchError, UnsafeCheckpointError,
                                    WeightsNotFoundError)

TINY = dict(block_out_channels=(8, 16), down_block_types=('DownEncoderBlock2D',) * 2,
            up_block_types=('UpDecoderBlock2D',) * 2, layers_per_block=1, norm_num_groups=8)
TINY_TEMPORAL = dict(type='TemporalConv', num_layers=3, norm_groups=8)


def randomize_temporal(vae: AutoencoderKL, seed: int = 0) -> None:
    """Give the (zero-init) temporal layers non-zero weights so they act."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in vae.temporal_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


@pytest.fixture(scope='module')
def fixture_vae(reference_dir):
    return AutoencoderKL.from_pretrained(osp.join(reference_dir, 'vae_finetuned_tiny')).eval()


@pytest.fixture(scope='module')
def plain_vae(reference_dir):
    return AutoencoderKL.from_pretrained(osp.join(reference_dir, 'sd21_tiny', 'vae')).eval()


@pytest.fixture(scope='module')
def decode_ref(reference_dir):
    return load_file(osp.join(reference_dir, 'vae_decode.safetensors'))


# --- parity with the original release and with diffusers ------------------------------------
@torch.no_grad()
def test_temporal_vae_reproduces_original_decoder(fixture_vae, decode_ref):
    assert fixture_vae.has_temporal_layers
    z = decode_ref['z']  # (2 videos x 6 frames, 4, 8, 8)
    video = fixture_vae.decode(z, num_frames=6)
    per_frame = fixture_vae.decode(z, num_frames=1)
    torch.testing.assert_close(video, decode_ref['decoded_num_frames_6'], atol=1e-4, rtol=0)
    torch.testing.assert_close(per_frame, decode_ref['decoded_per_frame'], atol=1e-4, rtol=0)
    # the temporal layers really act in the first case
    assert (video - per_frame).abs().max() > 1e-2


@torch.no_grad()
def test_decode_video_passes_frame_count(fixture_vae, decode_ref):
    z = decode_ref['z'].view(2, 6, 4, 8, 8).permute(0, 2, 1, 3, 4)  # (B, C, F, h, w)
    video = fixture_vae.decode_video(z * fixture_vae.scaling_factor)
    assert video.shape == (2, 3, 6, 16, 16)
    expected = decode_ref['decoded_num_frames_6'].view(2, 6, 3, 16, 16).permute(0, 2, 1, 3, 4)
    torch.testing.assert_close(video, expected, atol=1e-4, rtol=0)
    # chunking keeps whole videos together when temporal layers are on
    chunked = fixture_vae.decode_video(z * fixture_vae.scaling_factor, chunk_size=4)
    torch.testing.assert_close(chunked, video, atol=1e-5, rtol=0)


@torch.no_grad()
def test_plain_vae_matches_diffusers(reference_dir, plain_vae):
    diffusers = pytest.importorskip('diffusers')
    folder = osp.join(reference_dir, 'sd21_tiny', 'vae')
    oracle = diffusers.AutoencoderKL.from_pretrained(folder).eval()
    assert not plain_vae.has_temporal_layers
    assert plain_vae.scaling_factor == pytest.approx(0.18215)
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ours, theirs = plain_vae.encode(x), oracle.encode(x).latent_dist
    torch.testing.assert_close(ours.mean, theirs.mean, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.logvar, theirs.logvar, atol=1e-5, rtol=0)
    z = ours.mean
    torch.testing.assert_close(plain_vae.decode(z), oracle.decode(z).sample, atol=1e-5, rtol=0)
    # same parameter names as current diffusers
    assert set(plain_vae.state_dict()) == set(oracle.state_dict())


@torch.no_grad()
def test_fresh_temporal_layers_decode_like_plain_vae(reference_dir, plain_vae, decode_ref):
    folder = osp.join(reference_dir, 'sd21_tiny', 'vae')
    temporal = AutoencoderKL.from_pretrained(folder, temporal_conv=VIDRD_TEMPORAL_CONV).eval()
    assert temporal.has_temporal_layers
    assert all(not p.any() for n, p in temporal.temporal_parameters() if 'convs.11' in n)
    z = decode_ref['z']
    assert torch.equal(temporal.decode(z, num_frames=6), plain_vae.decode(z))


@torch.no_grad()
def test_fresh_temporal_tiny_vae_equals_plain():
    plain = AutoencoderKL(**TINY).eval()
    temporal = AutoencoderKL(**TINY, temporal_conv=TINY_TEMPORAL).eval()
    temporal.load_state_dict(plain.state_dict(), strict=False)
    z = torch.randn(2, 4, 3, 4, 4)
    assert torch.equal(temporal.decode_video(z), plain.decode_video(z))


# --- API ------------------------------------------------------------------------------------
@torch.no_grad()
def test_posterior_and_video_api():
    vae = AutoencoderKL(**TINY).eval()
    x = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    posterior = vae.encode(x[:, :, 0])
    assert isinstance(posterior, DiagonalGaussian)
    assert posterior.mean.shape == posterior.logvar.shape == (2, 4, 8, 8)
    assert torch.equal(posterior.mode(), posterior.mean)
    assert posterior.kl().shape == (2,) and (posterior.kl() >= 0).all()
    s1 = posterior.sample(torch.Generator().manual_seed(3))
    s2 = posterior.sample(torch.Generator().manual_seed(3))
    assert torch.equal(s1, s2) and not torch.equal(s1, posterior.mean)

    latents = vae.encode_video(x, sample=False)
    assert latents.shape == (2, 4, 3, 8, 8)
    expected = vae.encode(x[:, :, 1]).mean * vae.scaling_factor
    torch.testing.assert_close(latents[:, :, 1], expected)
    torch.testing.assert_close(vae.encode_video(x, sample=False, chunk_size=4), latents)

    video = vae.decode_video(latents)
    assert video.shape == x.shape
    torch.testing.assert_close(vae.decode_video(latents, chunk_size=4), video)
    torch.testing.assert_close(video[:, :, 2], vae.decode(latents[:, :, 2] / vae.scaling_factor))


def test_bad_shapes_are_clear_errors():
    vae = AutoencoderKL(**TINY)
    with pytest.raises(ValueError, match='encode_video'):
        vae.encode(torch.zeros(1, 3, 2, 16, 16))
    with pytest.raises(ValueError, match='permute'):
        vae.encode_video(torch.zeros(1, 2, 3, 16, 16))
    with pytest.raises(ValueError, match='num_frames=4'):
        vae.decode(torch.zeros(6, 4, 8, 8), num_frames=4)


def test_registered_and_config_built():
    vae = MODELS.build(dict(type='AutoencoderKL', **TINY, temporal_conv=TINY_TEMPORAL))
    assert isinstance(vae, AutoencoderKL) and vae.has_temporal_layers
    names = [n for n, _ in vae.temporal_parameters()]
    assert 'decoder.up_blocks.1.temp_convs.1.convs.11.weight' in names
    assert not any('mid_block' in n or n.startswith('encoder') for n in names)


# --- folders --------------------------------------------------------------------------------
def test_save_load_round_trip_is_exact(tmp_path):
    vae = AutoencoderKL(**TINY, temporal_conv=TINY_TEMPORAL, scaling_factor=0.5)
    randomize_temporal(vae)
    for legacy in (False, True):
        folder = str(tmp_path / f'legacy_{legacy}')
        vae.save_pretrained(folder, legacy_attention_names=legacy)
        config = json.load(open(osp.join(folder, 'config.json')))
        assert config['_class_name'] == 'TemporalAutoencoderKL' and config['add_temp_conv']
        loaded = AutoencoderKL.from_pretrained(folder)
        assert loaded.config == vae.config
        own, back = vae.state_dict(), loaded.state_dict()
        assert own.keys() == back.keys()
        assert all(torch.equal(own[k], back[k]) for k in own)
    assert not list(tmp_path.glob('**/*.tmp.*'))


def test_export_has_the_release_layout(reference_dir, fixture_vae, tmp_path):
    release = osp.join(reference_dir, 'vae_finetuned_tiny')
    fixture_vae.save_pretrained(str(tmp_path), legacy_attention_names=True)
    ours = load_file(str(tmp_path / 'diffusion_pytorch_model.safetensors'))
    theirs = load_file(osp.join(release, 'diffusion_pytorch_model.safetensors'))
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    ours_cfg = json.load(open(tmp_path / 'config.json'))
    theirs_cfg = json.load(open(osp.join(release, 'config.json')))
    drop = ('_diffusers_version',)
    assert ({k: v for k, v in ours_cfg.items() if k not in drop}
            == {k: v for k, v in theirs_cfg.items() if k not in drop})


def test_saved_plain_folder_loads_in_diffusers(tmp_path):
    diffusers = pytest.importorskip('diffusers')
    vae = AutoencoderKL(**TINY).eval()
    vae.save_pretrained(str(tmp_path))
    assert json.load(open(tmp_path / 'config.json'))['_class_name'] == 'AutoencoderKL'
    oracle = diffusers.AutoencoderKL.from_pretrained(str(tmp_path)).eval()
    z = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(vae.decode(z), oracle.decode(z).sample, atol=1e-5, rtol=0)


def test_temporal_weights_dropped_only_on_request(reference_dir, plain_vae):
    folder = osp.join(reference_dir, 'vae_finetuned_tiny')
    spatial_only = AutoencoderKL.from_pretrained(folder, temporal_conv=None)
    assert not spatial_only.has_temporal_layers
    own, ref = spatial_only.state_dict(), plain_vae.state_dict()
    assert all(torch.equal(own[k], ref[k]) for k in ref)


def test_missing_folder_names_path_and_source(tmp_path):
    missing = str(tmp_path / 'no_such_vae')
    with pytest.raises(WeightsNotFoundError) as err:
        AutoencoderKL.from_pretrained(missing)
    msg = str(err.value)
    assert missing in msg and 'stabilityai/stable-diffusion-2-1-base' in msg
    assert 'vae_finetuned' in msg
    # config present, weights absent
    AutoencoderKL(**TINY).save_pretrained(str(tmp_path / 'vae'))
    (tmp_path / 'vae' / 'diffusion_pytorch_model.safetensors').unlink()
    with pytest.raises(WeightsNotFoundError, match='diffusion_pytorch_model'):
        AutoencoderKL.from_pretrained(str(tmp_path / 'vae'))


def test_missing_key_is_named(tmp_path):
    folder = tmp_path / 'vae'
    AutoencoderKL(**TINY).save_pretrained(str(folder))
    weights = folder / 'diffusion_pytorch_model.safetensors'
    sd = load_file(str(weights))
    del sd['decoder.conv_in.weight']
    save_file(sd, str(weights))
    with pytest.raises(CheckpointMismatchError, match='decoder.conv_in.weight'):
        AutoencoderKL.from_pretrained(str(folder))


class _Payload:
    """A class a weights-only unpickler refuses."""


def test_unsafe_pickle_is_refused(tmp_path):
    folder = tmp_path / 'vae'
    AutoencoderKL(**TINY).save_pretrained(str(folder))
    (folder / 'diffusion_pytorch_model.safetensors').unlink()
    with open(folder / 'diffusion_pytorch_model.bin', 'wb') as f:
        pickle.dump({'decoder.conv_in.weight': _Payload()}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError, match='trust_pickle'):
        AutoencoderKL.from_pretrained(str(folder))


def test_bin_weights_with_legacy_names_load(reference_dir, plain_vae, tmp_path):
    """A diffusers-0.14 style ``.bin`` folder loads through torch.load(weights_only=True)."""
    src = osp.join(reference_dir, 'sd21_tiny', 'vae')
    folder = tmp_path / 'vae'
    folder.mkdir()
    (folder / 'config.json').write_text(open(osp.join(src, 'config.json')).read())
    torch.save(load_file(osp.join(src, 'diffusion_pytorch_model.safetensors')),
               str(folder / 'diffusion_pytorch_model.bin'))
    loaded = AutoencoderKL.from_pretrained(str(folder))
    own, ref = loaded.state_dict(), plain_vae.state_dict()
    assert all(torch.equal(own[k], ref[k]) for k in ref)


def test_unknown_config_key_and_override_are_errors(tmp_path):
    folder = tmp_path / 'vae'
    AutoencoderKL(**TINY).save_pretrained(str(folder))
    with pytest.raises(TypeError, match='no_such_option'):
        AutoencoderKL.from_pretrained(str(folder), no_such_option=1)
    config = json.load(open(folder / 'config.json'))
    config['_class_name'] = 'UNet2DConditionModel'
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match='not a VAE'):
        AutoencoderKL.from_pretrained(str(folder))
