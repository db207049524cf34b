"""Latent cache: training from it equals training from the videos; resumes; clear errors."""
import os
import os.path as osp

import pytest
import torch

from vidrd.apis.cache_latents import cache_latents
from vidrd.apis.run_config import build_runner, load_config
from vidrd.datasets.latent_cache import LatentCacheError, shard_name

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
# the tiny config with a VAE that has a posterior (the pixel-shuffle one has none)
TINY_KL_VAE = dict(_delete_=True, type='AutoencoderKL', block_out_channels=(8, 16),
                   down_block_types=('DownEncoderBlock2D',) * 2,
                   up_block_types=('UpDecoderBlock2D',) * 2, layers_per_block=1,
                   norm_num_groups=4, latent_channels=4)


@pytest.fixture(scope='module')
def options(tiny_config_options_module):
    opts = tiny_config_options_module
    opts.update({'model.vae': TINY_KL_VAE, 'model.unet.in_channels': 4,
                 'model.unet.out_channels': 4, 'model.caption_dropout': 0.5,
                 'train_dataloader.dataset.num_samples': 7, 'train_cfg.max_iters': 3,
                 'default_hooks.checkpoint.interval': 100})
    return opts


@pytest.fixture(scope='module')
def cache(tmp_path_factory, options):
    out = str(tmp_path_factory.mktemp('cache') / 'latents')
    cfg = load_config(TINY, options, work_dir=str(tmp_path_factory.mktemp('wd')))
    meta = cache_latents(cfg, out, shard_size=3, progress=False)
    assert meta['num_shards'] == 3  # 7 samples: 3 + 3 + 1
    return out


def _train(options, work_dir):
    runner = build_runner(load_config(TINY, options, work_dir=str(work_dir)))
    runner.train()
    return {n: p.detach().clone() for n, p in runner.model.named_parameters() if p.requires_grad}


def test_training_from_the_cache_equals_training_from_the_videos(tmp_path, options, cache):
    videos = _train(options, tmp_path / 'videos')
    cached = _train(dict(options, latent_cache=cache), tmp_path / 'cached')
    initial = build_runner(load_config(TINY, options, work_dir=str(tmp_path / 'init'))).model
    assert any(not torch.equal(videos[k], p) for k, p in initial.named_parameters()
               if k in videos)  # training moved the weights
    for key, value in videos.items():
        torch.testing.assert_close(cached[key], value, rtol=0, atol=1e-6, msg=key)


def test_cached_batches_carry_moments_and_embeddings(options, cache):
    from vidrd.registry import DATASETS
    dataset = DATASETS.build(dict(type='CachedLatentDataset', cache_dir=cache))
    assert len(dataset) == 7
    item = dataset[4]
    assert item['inputs']['latent_moments'].shape == (8, 4, 8, 8)  # 2C, F, h, w
    assert item['inputs']['text_embedding'].shape == (77, 32)
    assert item['data_samples'].metainfo['sample_idx'] == 4
    assert item['data_samples'].negative_embedding.shape == (77, 32)


def test_a_killed_caching_run_resumes_and_writes_only_what_is_missing(tmp_path, options, cache):
    import shutil
    out = str(tmp_path / 'copy')
    shutil.copytree(cache, out)
    os.remove(osp.join(out, shard_name(1)))
    kept = osp.getmtime(osp.join(out, shard_name(0)))
    cfg = load_config(TINY, options, work_dir=str(tmp_path / 'wd'))
    cache_latents(cfg, out, shard_size=3, progress=False)
    assert osp.getmtime(osp.join(out, shard_name(0))) == kept
    from safetensors.torch import load_file
    for k in range(3):  # the same content as an uninterrupted run (draws seeded per sample)
        a, b = load_file(osp.join(cache, shard_name(k))), load_file(osp.join(out, shard_name(k)))
        assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_a_missing_or_corrupt_shard_is_named(tmp_path, cache):
    import shutil
    from vidrd.registry import DATASETS
    out = str(tmp_path / 'broken')
    shutil.copytree(cache, out)
    missing = osp.join(out, shard_name(2))
    os.remove(missing)
    with pytest.raises(LatentCacheError, match=f'{missing}.*missing.*cache_latents'):
        DATASETS.build(dict(type='CachedLatentDataset', cache_dir=out))
    shutil.copy(osp.join(cache, shard_name(2)), missing)
    corrupt = osp.join(out, shard_name(1))
    with open(corrupt, 'r+b') as f:  # a truncated file, as a full disk leaves it
        f.truncate(osp.getsize(corrupt) // 2)
    with pytest.raises(LatentCacheError, match=f'{corrupt} is corrupt'):
        DATASETS.build(dict(type='CachedLatentDataset', cache_dir=out))
    with pytest.raises(LatentCacheError, match='not a latent cache'):
        DATASETS.build(dict(type='CachedLatentDataset', cache_dir=str(tmp_path)))


def test_ranks_write_disjoint_shards_that_together_make_the_cache(tmp_path, options, cache):
    from safetensors.torch import load_file
    out = str(tmp_path / 'two_ranks')
    cfg = load_config(TINY, options, work_dir=str(tmp_path / 'wd'))
    cache_latents(cfg, out, shard_size=3, rank=1, world_size=2, progress=False)
    assert sorted(f for f in os.listdir(out) if f.startswith('shard')) == [shard_name(1)]
    cache_latents(cfg, out, shard_size=3, rank=0, world_size=2, progress=False)
    for k in range(3):  # the same content as one process writes
        a, b = load_file(osp.join(cache, shard_name(k))), load_file(osp.join(out, shard_name(k)))
        assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_encoders_read_from_files_are_built_alone_batched_and_cache_the_same(
        tmp_path, options, cache):
    """A config whose VAE and text encoder come from folders builds only those two (a U-Net
    that cannot be built is never touched), encodes in batches, and writes what the whole
    model wrote one clip at a time."""
    from safetensors.torch import load_file, save_file

    from vidrd.apis.cache_latents import build_frozen_encoders
    model = build_runner(load_config(TINY, options, work_dir=str(tmp_path / 'wd'))).model
    model.vae.save_pretrained(str(tmp_path / 'vae'))
    text = model.text_encoder.export_config(str(tmp_path / 'text_encoder'))
    save_file({k: v.contiguous() for k, v in model.text_encoder.state_dict().items()},
              str(tmp_path / 'text_encoder' / 'model.safetensors'))
    files = dict(options, **{
        'model.unet': dict(_delete_=True, type='NoSuchUNet'),
        'model.vae': dict(_delete_=True, type='PretrainedAutoencoderKL',
                          folder=str(tmp_path / 'vae')),
        'model.text_encoder': dict(_delete_=True, type='CLIPTextEncoder',
                                   pretrained=str(tmp_path / 'text_encoder'),
                                   tokenizer=text['tokenizer'])})
    cfg = load_config(TINY, files, work_dir=str(tmp_path / 'wd'))
    encoders = build_frozen_encoders(cfg)
    assert not hasattr(encoders, 'unet') and encoders.device == 'cpu'
    out = str(tmp_path / 'from_files')
    cache_latents(cfg, out, shard_size=3, progress=False, batch_size=2)
    for k in range(3):
        a, b = load_file(osp.join(cache, shard_name(k))), load_file(osp.join(out, shard_name(k)))
        assert a.keys() == b.keys()
        for name in a:  # batched kernels may round differently from one clip at a time
            torch.testing.assert_close(b[name], a[name], rtol=0, atol=1e-6, msg=name)
    with pytest.raises(ValueError, match='batch_size must be >= 1'):
        cache_latents(cfg, out, shard_size=3, progress=False, batch_size=0)


def test_the_embedded_config_stops_at_once_naming_its_autoencoder(tmp_path):
    """Its pixel-shuffle autoencoder has no posterior to cache: one user error, before the
    dataset or any network is built, and no folder written."""
    from vidrd.utils.cli import InvalidValueError, user_error_message
    out = tmp_path / 'cache'
    with pytest.raises(InvalidValueError) as err:
        cache_latents(load_config(TINY, work_dir=str(tmp_path / 'wd')), str(out),
                      progress=False)
    message = user_error_message(err.value)
    assert message is not None and '\n' not in message
    assert 'PixelShuffleAutoencoder' in message and 'train from the videos' in message
    assert not out.exists()
