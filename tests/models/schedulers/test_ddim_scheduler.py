"""DDIMScheduler against diffusers' DDIMScheduler (the test oracle) on SD-2.1's settings."""
import json
import os.path as osp

import pytest
import torch

from vidrd.models.schedulers import DDIMScheduler
from vidrd.registry import DIFFUSION_SCHEDULERS

diffusers = pytest.importorskip('diffusers')


@pytest.fixture
def scheduler_config(reference_dir):
    return osp.join(reference_dir, 'sd21_tiny', 'scheduler', 'scheduler_config.json')


def _oracle(config_path, **overrides):
    with open(config_path) as f:
        config = json.load(f)
    config.update(overrides)
    return diffusers.DDIMScheduler.from_config(config)


def _run_loop(scheduler, num_steps, model_outputs, x, **step_kwargs):
    scheduler.set_timesteps(num_steps)
    samples = []
    for i, t in enumerate(scheduler.timesteps):
        kwargs = {k: v() if callable(v) else v for k, v in step_kwargs.items()}
        out = scheduler.step(model_outputs[i], t, x, **kwargs)
        x = out if torch.is_tensor(out) else out.prev_sample
        samples.append(x)
    return scheduler.timesteps, samples


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction'])
@pytest.mark.parametrize('num_steps', [10, 50])
def test_loop_equals_diffusers(scheduler_config, prediction_type, num_steps):
    ours = DDIMScheduler.from_config_file(scheduler_config, prediction_type=prediction_type)
    oracle = _oracle(scheduler_config, prediction_type=prediction_type)
    gen = torch.Generator().manual_seed(num_steps)
    x = torch.randn(2, 4, 3, 8, 8, generator=gen)  # (B, C, F, H, W) latents
    model_outputs = torch.randn(num_steps, *x.shape, generator=gen)

    ours_t, ours_x = _run_loop(ours, num_steps, model_outputs, x)
    ref_t, ref_x = _run_loop(oracle, num_steps, model_outputs, x)
    assert ours_t.dtype == torch.long
    assert torch.equal(ours_t, ref_t)
    assert ours_t[0] == 1000 - 1000 // num_steps + 1 and ours_t[-1] == 1  # leading + offset 1
    for step, (a, b) in enumerate(zip(ours_x, ref_x)):
        assert (a - b).abs().max() <= 1e-6, f'step {step}'


def test_sample_prediction_clipping_and_eta_equal_diffusers(scheduler_config):
    overrides = dict(prediction_type='sample', clip_sample=True, set_alpha_to_one=True)
    ours = DDIMScheduler.from_config_file(scheduler_config, **overrides)
    oracle = _oracle(scheduler_config, **overrides)
    x = torch.randn(1, 4, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    outputs = 2 * torch.randn(10, *x.shape, generator=torch.Generator().manual_seed(1))
    # eta > 0 with a generator: the same draws as diffusers' randn_tensor
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    _, ours_x = _run_loop(ours, 10, outputs, x, eta=0.7, generator=gen_a)
    _, ref_x = _run_loop(oracle, 10, outputs, x, eta=0.7, generator=gen_b)
    for a, b in zip(ours_x, ref_x):
        assert (a - b).abs().max() <= 1e-6


def test_api_and_errors(scheduler_config, tmp_path):
    scheduler = DIFFUSION_SCHEDULERS.build(dict(type='DDIMScheduler'))
    assert scheduler.init_noise_sigma == 1.0
    assert torch.equal(scheduler.alphas_cumprod,
                       DDIMScheduler.from_config_file(scheduler_config).alphas_cumprod)
    with pytest.raises(RuntimeError, match='set_timesteps'):
        scheduler.step(torch.zeros(1), 1, torch.zeros(1))
    with pytest.raises(ValueError, match='num_inference_steps'):
        scheduler.set_timesteps(1001)
    with pytest.raises(ValueError, match='steps_offset'):
        scheduler.set_timesteps(1000)  # 999 + offset 1 is past the table
    timesteps = scheduler.set_timesteps(4)
    assert timesteps.tolist() == [751, 501, 251, 1]
    x, eps = torch.randn(2, 4, 3, 2, 2), torch.randn(2, 4, 3, 2, 2)
    t = int(timesteps[0])
    x0_hat = scheduler.predict_x0(eps, scheduler.add_noise(x, eps, t), t)
    assert torch.allclose(x0_hat, x, atol=1e-5)
    with pytest.raises(ValueError, match='one timestep'):
        scheduler.step(eps, torch.tensor([t, t]), x)

    folder = tmp_path / 'scheduler'
    folder.mkdir()
    (folder / 'scheduler_config.json').write_text(json.dumps(dict(
        prediction_type='epsilon', timestep_spacing='trailing')))
    with pytest.raises(ValueError, match="timestep_spacing='trailing'"):
        DDIMScheduler.from_config_file(str(folder))


@pytest.mark.parametrize('eta', [0.0, 0.8])
def test_per_frame_steps(eta):
    """A (B, F) timestep steps frame f from t_f to t_f - k: all-equal frames give the scalar
    step bit for bit; distinct ones give what a scalar step of that frame alone gives (the
    grid's first step lands past the table's end on alpha_bar_0, as the scalar step does)."""
    scheduler = DDIMScheduler(clip_sample=True, prediction_type='sample')
    timesteps = scheduler.set_timesteps(5)  # 801, 601, 401, 201, 1
    g = torch.Generator().manual_seed(0)
    x, out = torch.randn(2, 3, 4, 2, 2, generator=g), 2 * torch.randn(2, 3, 4, 2, 2, generator=g)
    noise = torch.randn(x.shape, generator=g)
    same = torch.full((2, 4), int(timesteps[1]))
    assert torch.equal(scheduler.step(out, same, x, eta=eta, variance_noise=noise),
                       scheduler.step(out, int(timesteps[1]), x, eta=eta, variance_noise=noise))
    per_frame = torch.stack([timesteps[[0, 1, 3, 4]], timesteps[[4, 2, 2, 0]]])
    stepped = scheduler.step(out, per_frame, x, eta=eta, variance_noise=noise)
    for i in range(2):
        for j in range(4):
            alone = scheduler.step(out[i:i + 1, :, j:j + 1], int(per_frame[i, j]),
                                   x[i:i + 1, :, j:j + 1], eta=eta,
                                   variance_noise=noise[i:i + 1, :, j:j + 1])
            torch.testing.assert_close(stepped[i:i + 1, :, j:j + 1], alone, atol=1e-6, rtol=0)
