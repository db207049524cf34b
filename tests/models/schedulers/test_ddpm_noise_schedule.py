"""DDPMNoiseSchedule against diffusers' DDPMScheduler (the test oracle)."""
import json
import os.path as osp

import pytest
import torch

from vidrd.models.schedulers import DDPMNoiseSchedule
from vidrd.registry import DIFFUSION_SCHEDULERS

diffusers = pytest.importorskip('diffusers')


def _video_batch(seed=0, shape=(3, 4, 5, 6, 6)):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)


@pytest.mark.parametrize('beta_schedule', ['scaled_linear', 'linear', 'squaredcos_cap_v2'])
def test_add_noise_and_velocity_equal_diffusers(beta_schedule):
    kwargs = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                  beta_schedule=beta_schedule)
    ours = DDPMNoiseSchedule(prediction_type='v_prediction', **kwargs)
    oracle = diffusers.DDPMScheduler(prediction_type='v_prediction', **kwargs)
    assert torch.equal(ours.alphas_cumprod, oracle.alphas_cumprod)

    x0, noise = _video_batch()
    t = torch.tensor([0, 517, 999])
    assert (ours.add_noise(x0, noise, t) - oracle.add_noise(x0, noise, t)).abs().max() <= 1e-6
    v = ours.training_target(x0, noise, t)
    assert (v - oracle.get_velocity(x0, noise, t)).abs().max() <= 1e-6


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction', 'sample'])
def test_predictions_invert_add_noise(prediction_type):
    schedule = DDPMNoiseSchedule(prediction_type=prediction_type)
    x0, noise = _video_batch(1)
    t = torch.tensor([3, 400, 990])
    x_t = schedule.add_noise(x0, noise, t)
    target = schedule.training_target(x0, noise, t)  # what a perfect network outputs
    # at t=990 x_t is almost pure noise: x0 = (x_t - 0.998 eps) / 0.07 amplifies rounding
    assert torch.allclose(schedule.predict_x0(target, x_t, t), x0, atol=1e-4)
    assert torch.allclose(schedule.predict_epsilon(target, x_t, t), noise, atol=1e-4)


def test_timestep_forms_and_sampling():
    schedule = DDPMNoiseSchedule()
    x0, noise = _video_batch(2, shape=(2, 4, 8, 8))  # images work too
    by_int = schedule.add_noise(x0, noise, 250)
    by_tensor = schedule.add_noise(x0, noise, torch.tensor([250, 250]))
    by_one = schedule.add_noise(x0, noise, torch.tensor([250]))
    assert torch.equal(by_int, by_tensor) and torch.equal(by_int, by_one)
    assert schedule.add_noise(x0.half(), noise.half(), 250).dtype == torch.float16
    with pytest.raises(ValueError, match='one timestep per sample'):
        schedule.add_noise(x0, noise, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match='outside'):
        schedule.add_noise(x0, noise, 1000)
    with pytest.raises(TypeError, match='integers'):
        schedule.add_noise(x0, noise, torch.tensor([0.5, 0.5]))

    t = schedule.sample_timesteps(4096, 'cpu', torch.Generator().manual_seed(0))
    assert t.dtype == torch.long and t.shape == (4096,)
    assert 0 <= int(t.min()) and int(t.max()) <= 999 and len(t.unique()) > 900
    assert torch.equal(t, schedule.sample_timesteps(4096, None, torch.Generator().manual_seed(0)))


def test_timestep_bias_draws_the_range_multiplier_times_as_often():
    schedule = DDPMNoiseSchedule(timestep_bias=dict(begin=700, end=1000, multiplier=6))
    t = schedule.sample_timesteps(20000, 'cpu', torch.Generator().manual_seed(0))
    assert 0 <= int(t.min()) and int(t.max()) <= 999
    # P(t >= 700) = 300 * 6 / (700 + 300 * 6) = 0.72; binomial sd ~0.003
    assert abs((t >= 700).float().mean().item() - 0.72) < 0.015
    low, high = torch.bincount(t, minlength=1000).double().split([700, 300])
    assert abs(high.mean() / low.mean() - 6.0) < 0.3
    assert torch.equal(t, schedule.sample_timesteps(20000, None,
                                                     torch.Generator().manual_seed(0)))
    for bad in (dict(begin=700, end=1200, multiplier=2), dict(begin=0, end=10),
                dict(begin=0, end=10, multiplier=0), dict(begin=0, end=10, multiplier=2, x=1)):
        with pytest.raises(ValueError, match='timestep_bias'):
            DDPMNoiseSchedule(timestep_bias=bad)


def test_config_file(reference_dir, tmp_path):
    path = osp.join(reference_dir, 'sd21_tiny', 'scheduler', 'scheduler_config.json')
    schedule = DDPMNoiseSchedule.from_config_file(path)
    built = DIFFUSION_SCHEDULERS.build(dict(type='DDPMNoiseSchedule'))  # SD-2.1 defaults
    assert torch.equal(schedule.alphas_cumprod, built.alphas_cumprod)
    assert schedule.prediction_type == 'epsilon'
    v_schedule = DDPMNoiseSchedule.from_config_file(osp.dirname(path),
                                                    prediction_type='v_prediction')
    assert v_schedule.prediction_type == 'v_prediction'

    # keys a file leaves out take diffusers' defaults (linear 1e-4..0.02), as diffusers reads it
    sparse = tmp_path / 'scheduler_config.json'
    sparse.write_text(json.dumps({'_class_name': 'DDPMScheduler', 'variance_type': 'fixed_small',
                                  'num_train_timesteps': 1000}))
    assert torch.equal(DDPMNoiseSchedule.from_config_file(str(sparse)).alphas_cumprod,
                       diffusers.DDPMScheduler().alphas_cumprod)
    sparse.write_text(json.dumps({'rescale_betas_zero_snr': True}))
    with pytest.raises(ValueError, match='rescale_betas_zero_snr'):
        DDPMNoiseSchedule.from_config_file(str(sparse))
    with pytest.raises(FileNotFoundError, match='no_such_folder'):
        DDPMNoiseSchedule.from_config_file(str(tmp_path / 'no_such_folder'))
    with pytest.raises(ValueError, match='prediction_type'):
        DDPMNoiseSchedule(prediction_type='x0')
    with pytest.raises(ValueError, match='beta_schedule'):
        DDPMNoiseSchedule(beta_schedule='quadratic')


def test_per_frame_timesteps_noise_each_frame_at_its_own_level():
    schedule = DDPMNoiseSchedule()
    x0, noise = _video_batch(3)  # (B, C, F, H, W)
    b, _, f = x0.shape[:3]
    t = torch.randint(0, 1000, (b, f), generator=torch.Generator().manual_seed(0))
    noisy = schedule.add_noise(x0, noise, t)
    for i in range(b):
        for j in range(f):
            alone = schedule.add_noise(x0[i:i + 1, :, j:j + 1], noise[i:i + 1, :, j:j + 1],
                                       int(t[i, j]))
            assert torch.equal(noisy[i:i + 1, :, j:j + 1], alone)
    shared = torch.full((b, f), 250)
    assert torch.equal(schedule.add_noise(x0, noise, shared), schedule.add_noise(x0, noise, 250))
    assert torch.equal(schedule.add_noise(x0, noise, t[:1]),  # (1, F) broadcasts
                       schedule.add_noise(x0, noise, t[:1].expand(b, f)))
    with pytest.raises(ValueError, match='per-frame timesteps'):
        schedule.add_noise(x0, noise, t[:, :2])
    with pytest.raises(ValueError, match='outside'):
        schedule.add_noise(x0, noise, t + 1000)


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction', 'sample'])
def test_output_from_x0_inverts_predict_x0(prediction_type):
    schedule = DDPMNoiseSchedule(prediction_type=prediction_type)
    x0, noise = _video_batch(4)
    t = torch.tensor([30, 600, 900])
    x_t = schedule.add_noise(x0, noise, t)
    output = schedule.output_from_x0(x0, x_t, t)
    assert torch.allclose(output, schedule.training_target(x0, noise, t), atol=1e-4)
    assert torch.allclose(schedule.predict_x0(output, x_t, t), x0, atol=1e-4)
