"""The demo's planning half (tools/demo.py) without running it: where its configs come from,
the stage timings, and the seconds per training iteration read through mmengine's public
``HistoryBuffer`` API (the whole run is tests/apis/test_demo_pipeline.py's, slow)."""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.logging import HistoryBuffer

from vidrd.apis.demo import StageTimer, _seconds_per_iter, app_command, plan_demo

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_the_plan_names_the_shipped_configs_or_the_given_folder(tmp_path):
    plan = plan_demo(str(tmp_path / 'demo'), long_video_clips=2)
    configs = osp.join(REPO, 'configs')
    assert plan.config == osp.join(configs, 'vidrd_tiny_shapes.py')
    assert plan.paper_samplers == osp.join(configs, 'ablations', 'tiny_shapes')
    assert plan.method_samplers == osp.join(configs, 'long_video', 'tiny_shapes')
    assert osp.isdir(plan.paper_samplers) and osp.isdir(plan.method_samplers)
    assert plan.long_video_clips == 2 and plan.longer_clips == 6
    assert plan.classifier == str(tmp_path / 'demo' / 'shapes_classifier.safetensors')
    assert plan.model_work_dir == str(tmp_path / 'demo' / 'vidrd')
    (tmp_path / 'mine' / '_base_').mkdir(parents=True)
    mine = plan_demo(configs_dir=str(tmp_path / 'mine'))
    assert mine.config == str(tmp_path / 'mine' / 'vidrd_tiny_shapes.py')
    with pytest.raises(FileNotFoundError, match='configs_dir'):
        plan_demo(configs_dir=str(tmp_path))
    assert app_command(str(tmp_path / 'demo')).startswith(
        'python tools/app.py ' + osp.relpath(plan.config))


def test_stage_timer_records_completed_stages_in_order():
    timer = StageTimer()
    with timer.stage('first'):
        pass
    with pytest.raises(RuntimeError):
        with timer.stage('failed'):
            raise RuntimeError('boom')
    with timer.stage('second'):
        pass
    assert list(timer.timings) == ['first', 'second']
    assert all(isinstance(t, float) and t >= 0 for t in timer.timings.values())
    assert timer.total() >= 0


@pytest.mark.parametrize('times, expected', [([9.0], 9.0), ([9.0, 1.0, 3.0], 2.0)])
def test_seconds_per_iteration_leave_out_the_first(times, expected):
    buffer = HistoryBuffer()
    for t in times:
        buffer.update(t)
    runner = SimpleNamespace(iter=len(times), message_hub=SimpleNamespace(
        get_scalar=lambda key: buffer if key == 'train/time' else None))
    assert _seconds_per_iter(runner) == pytest.approx(expected)


def test_the_demo_samples_at_the_automatic_precision_unless_told():
    """``--amp auto`` by default: every sampler's ``autocast_dtype`` becomes 'auto' (bf16 on a
    GPU that has it or a CPU with AMX, decided per run), fp32 switches autocast off."""
    from vidrd.apis.run_config import sampler_autocast, with_sampling_amp
    assert plan_demo().amp == 'auto' and plan_demo(amp='fp32').amp == 'fp32'
    assert sampler_autocast('auto') == 'auto' and sampler_autocast('fp32') is None
    assert sampler_autocast('bfloat16') == 'bf16'
    with pytest.raises(ValueError, match='bf8'):
        sampler_autocast('bf8')
    assert with_sampling_amp({'a': 1}, 'auto') == {
        'a': 1, 'model.long_video_sampler.autocast_dtype': 'auto'}
