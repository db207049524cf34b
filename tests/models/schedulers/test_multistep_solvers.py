"""DPM-Solver++ (2M) and UniPC against diffusers' DPMSolverMultistepScheduler and
UniPCMultistepScheduler (the test oracles), same config; their state and per-frame restarts."""
import json
import math
import os.path as osp

import pytest
import torch

from vidrd.models.long_video import ReuseAndDiffuseSampler
from vidrd.models.schedulers import (DDIMScheduler, DPMSolverMultistepScheduler,
                                     UniPCMultistepScheduler)
from vidrd.models.unets import UNet3DConditionModel
from vidrd.registry import DIFFUSION_SCHEDULERS

diffusers = pytest.importorskip('diffusers')

SOLVERS = {'DPMSolverMultistepScheduler': DPMSolverMultistepScheduler,
           'UniPCMultistepScheduler': UniPCMultistepScheduler}
#: SD-2.1-base's scheduler_config.json (as the shared fixture's)
SD21_SCHEDULER = dict(_class_name='DDIMScheduler', beta_end=0.012, beta_schedule='scaled_linear',
                      beta_start=0.00085, clip_sample=False, num_train_timesteps=1000,
                      prediction_type='epsilon', set_alpha_to_one=False, steps_offset=1,
                      trained_betas=None)
#: settings beyond the file's, per solver (diffusers' defaults first)
CASES = [('DPMSolverMultistepScheduler', {}),
         ('DPMSolverMultistepScheduler', dict(solver_type='heun', prediction_type='v_prediction')),
         ('DPMSolverMultistepScheduler', dict(timestep_spacing='leading', solver_order=1)),
         ('DPMSolverMultistepScheduler', dict(timestep_spacing='trailing', lower_order_final=False,
                                              final_sigmas_type='sigma_min')),
         ('DPMSolverMultistepScheduler', dict(beta_schedule='squaredcos_cap_v2',
                                              lambda_min_clipped=-5.1)),
         ('UniPCMultistepScheduler', {}),
         ('UniPCMultistepScheduler', dict(solver_order=3, prediction_type='sample')),
         ('UniPCMultistepScheduler', dict(solver_type='bh1', solver_order=3,
                                          lower_order_final=False, final_sigmas_type='sigma_min',
                                          disable_corrector=[1])),
         ('UniPCMultistepScheduler', dict(timestep_spacing='trailing'))]


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / 'scheduler_config.json'
    path.write_text(json.dumps(SD21_SCHEDULER))
    return str(path)


def _oracle(name, **settings):
    return getattr(diffusers, name).from_config(dict(SD21_SCHEDULER, **settings))


def _loop(scheduler, num_steps, outputs, x):
    scheduler.set_timesteps(num_steps)
    samples = []
    for i, t in enumerate(scheduler.timesteps):
        out = scheduler.step(outputs[i], t, x)
        x = out if torch.is_tensor(out) else out.prev_sample
        samples.append(x)
    return scheduler.timesteps, samples


def _relative(a, b) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize('name,settings', CASES, ids=lambda v: str(v))
@pytest.mark.parametrize('num_steps', [6, 20])
def test_loop_equals_diffusers(config_file, name, settings, num_steps):
    """Random network outputs, every step's sample: same grid, within 1e-5 relative (3e-5 at
    order 3: diffusers solves for its coefficients in float32, we in float64)."""
    ours = SOLVERS[name].from_config_file(config_file, **settings)
    oracle = _oracle(name, **settings)
    g = torch.Generator().manual_seed(num_steps)
    x = torch.randn(2, 4, 3, 8, 8, generator=g)
    outputs = torch.randn(num_steps, *x.shape, generator=g)
    ours_t, ours_x = _loop(ours, num_steps, outputs, x)
    ref_t, ref_x = _loop(oracle, num_steps, outputs, x)
    assert ours_t.dtype == torch.long and torch.equal(ours_t, ref_t)
    for step, (a, b) in enumerate(zip(ours_x, ref_x)):
        assert _relative(a, b) <= (3e-5 if ours.solver_order == 3 else 1e-5), f'step {step}'


def _tiny_unet() -> UNet3DConditionModel:
    torch.manual_seed(0)
    unet = UNet3DConditionModel(
        block_out_channels=(32, 32), down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), layers_per_block=1,
        num_attention_heads=2, cross_attention_dim=16, norm_num_groups=8)
    with torch.no_grad():  # zero-initialised temporal outputs would hide the temporal layers
        for p in unet.parameters():
            p.add_(0.05 * torch.randn(p.shape))
    return unet.eval()


@pytest.mark.parametrize('name', list(SOLVERS))
def test_one_clip_sampling_run_equals_diffusers(config_file, name):
    """A guided one-clip run of the clip-after-clip sampler with a tiny U-Net, 8 steps: the
    final latents with ours and with diffusers' solver (same config) within 1e-5 relative."""
    unet = _tiny_unet()
    g = torch.Generator().manual_seed(1)
    cond, uncond = torch.randn(1, 5, 16, generator=g), torch.randn(1, 5, 16, generator=g)
    sampler = ReuseAndDiffuseSampler(num_frames=3, num_prompt_frames=1, num_inference_steps=8,
                                     guidance_scale=4.0, progress=False)
    latents = {}
    for key, scheduler in (('ours', SOLVERS[name].from_config_file(config_file)),
                           ('diffusers', _oracle(name))):
        out = sampler.sample(unet, scheduler, cond, uncond, latent_shape=(4, 8, 8),
                             num_clips=1, seed=3)
        latents[key] = out.clip_latents[0]
    assert torch.isfinite(latents['ours']).all()
    assert _relative(latents['ours'], latents['diffusers']) <= 1e-5


def _dpm_first_order(scheduler, x0, x, t, t_next):
    """DPM-Solver++1 = DDIM (eta 0): sqrt(a') x0 + sqrt(1 - a') eps, eps read at x_t."""
    a, a_next = (float(scheduler.alphas_cumprod[t]),
                 1.0 if t_next is None else float(scheduler.alphas_cumprod[t_next]))
    eps = (x - math.sqrt(a) * x0) / math.sqrt(1 - a)
    return math.sqrt(a_next) * x0 + math.sqrt(1 - a_next) * eps


@pytest.mark.parametrize('name', list(SOLVERS))
def test_restarted_frames_take_a_first_order_step_others_keep_their_history(name):
    """``restart`` (B, F): masked frames start a new trajectory at that step (first-order
    update, no UniPC correction); the other frames give what no restart gives, bit for bit."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 3, 4, 4, generator=g)
    outputs = torch.randn(5, *x.shape, generator=g)
    replaced = torch.randn(x.shape, generator=g)
    mask = torch.tensor([[False, True, False], [True, False, False]])
    plain, restarted = SOLVERS[name](), SOLVERS[name]()
    timesteps = plain.set_timesteps(5).tolist()
    restarted.set_timesteps(5)
    xa = xb = x
    for i, t in enumerate(timesteps[:2]):
        xa, xb = plain.step(outputs[i], t, xa), restarted.step(outputs[i], t, xb)
    assert torch.equal(xa, xb)
    # frames of mask replaced before step 2
    edited = torch.where(mask[:, None, :, None, None], replaced, xb)
    xa = plain.step(outputs[2], timesteps[2], xa)
    xb = restarted.step(outputs[2], timesteps[2], edited, restart=mask)
    keep = ~mask[:, None, :, None, None]
    assert torch.equal(torch.where(keep, xa, 0), torch.where(keep, xb, 0))
    x0 = restarted.predict_x0(outputs[2], edited, timesteps[2])
    first_order = _dpm_first_order(restarted, x0, edited, timesteps[2], timesteps[3])
    for b, f in mask.nonzero().tolist():
        torch.testing.assert_close(xb[b, :, f], first_order[b, :, f], atol=1e-5, rtol=1e-5)
    assert (xa - xb).abs().amax(dim=(1, 3, 4))[mask].min() > 1e-3  # the edit shows
    # the restarted frames' history is one step long: the next step is still valid, finite
    assert restarted.state.history.shape == (2, 1, 3, 1, 1)
    xb = restarted.step(outputs[3], timesteps[3], xb)
    assert torch.isfinite(xb).all() and restarted.state.history == 2  # uniform again


def test_first_order_dpm_solver_is_ddim():
    """DPM-Solver++ of order 1 is DDIM with eta 0, on the same grid and the same end."""
    dpm = DPMSolverMultistepScheduler(solver_order=1, final_sigmas_type='sigma_min')
    ddim = DDIMScheduler(set_alpha_to_one=False)
    timesteps = dpm.set_timesteps(5)
    ddim.set_timesteps(5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 2, 4, 4, generator=g)
    for t, t_next in zip(timesteps.tolist(), timesteps.tolist()[1:] + [0]):
        eps = torch.randn(x.shape, generator=g)
        x0 = ddim.predict_x0(eps, x, t)
        expected = _dpm_first_order(ddim, x0, x, t, t_next)
        x = dpm.step(eps, t, x)
        torch.testing.assert_close(x, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('name', list(SOLVERS))
def test_registry_config_folder_state_and_errors(name, config_file, tmp_path):
    cls = SOLVERS[name]
    built = DIFFUSION_SCHEDULERS.build(dict(type=name, prediction_type='v_prediction'))
    assert isinstance(built, cls) and built.prediction_type == 'v_prediction'
    folder = osp.dirname(config_file)
    pretrained = DIFFUSION_SCHEDULERS.build(dict(type=f'Pretrained{name}', folder=folder,
                                                 solver_order=1))
    assert pretrained.solver_order == 1 and pretrained.timestep_spacing == 'linspace'
    # a DDIM config switches by type: its DDIM-only keys are accepted (clip_sample works)
    ddim_like = DIFFUSION_SCHEDULERS.build(dict(type=name, steps_offset=1,
                                                set_alpha_to_one=False, clip_sample=True))
    assert ddim_like.clip_sample
    assert torch.equal(built.alphas_cumprod, DDIMScheduler().alphas_cumprod)

    scheduler = cls()
    with pytest.raises(RuntimeError, match='set_timesteps'):
        scheduler.step(torch.zeros(1), 1, torch.zeros(1))
    timesteps = scheduler.set_timesteps(4).tolist()
    assert timesteps == [999, 749, 500, 250]
    x = torch.randn(1, 4, 2, 2, 2)
    with pytest.raises(ValueError, match='per-frame timesteps'):
        scheduler.step(x, torch.tensor([[999, 749]]), x)
    scheduler.step(x, timesteps[0], x)
    assert scheduler.state.step_index == 1 and len(scheduler.state.outputs) == 1
    with pytest.raises(ValueError, match='trajectory is at step 1'):
        scheduler.step(x, timesteps[2], x)  # skips a step
    scheduler.reset_state()
    scheduler.step(x, timesteps[2], x)  # a new trajectory may start anywhere on the grid
    assert scheduler.state.step_index == 3

    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'scheduler_config.json').write_text(json.dumps(dict(use_karras_sigmas=True)))
    with pytest.raises(ValueError, match='use_karras_sigmas=True is not supported'):
        cls.from_config_file(str(bad))
    with pytest.raises(ValueError, match='solver_order=4'):
        cls(solver_order=4)
    with pytest.raises(ValueError, match="timestep_spacing='uniform'"):
        cls(timestep_spacing='uniform')
