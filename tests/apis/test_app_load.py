"""The web app under load: 8 concurrent requests from ``gradio_client`` on 127.0.0.1.

The tiny config, shrunk by TINY_TRAINING_OPTIONS (random weights: only the frame counts and the
order matter), is served through ``launch_app``. Eight requests are submitted one after another
without waiting for results, while the first is held at a gate before it generates, so all
eight are in the server at once; the fourth has an empty prompt. Every other request completes
with its own seed and the frame count of its clips; they ran in the order they were queued (the
app numbers its output folders as it runs them); the failing one answers with its message and
neither blocks nor loses the requests behind it. Bounded: 8 requests, 2 DDIM steps each, a time
limit on every wait (about 9 s in all on a CPU).
"""
import os.path as osp
import socket
import threading
import time

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
NUM_REQUESTS = 8
FAILING = 3  # the request with an empty prompt
#: one prompt per request, so the app's output file names say which request made them
PROMPTS = [f'a {color} {shape} moving {direction}' for color, shape, direction in zip(
    ('red', 'green', 'blue', 'yellow', 'red', 'green', 'blue', 'yellow'),
    ('circle', 'square', 'triangle', 'circle', 'square', 'triangle', 'circle', 'square'),
    ('left', 'right', 'up', 'down', 'down', 'up', 'right', 'left'))]
TIMEOUT_S = 180  # for the whole queue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def model_options(tiny_training_options):
    options = {k: v for k, v in tiny_training_options.items() if k.startswith('model.')}
    options['model.long_video_sampler.num_inference_steps'] = 2
    return options


@pytest.fixture(scope='module')
def served(tmp_path_factory, model_options):
    """(client, the app's output folder, the gate every generation waits for)."""
    pytest.importorskip('gradio')
    gradio_client = pytest.importorskip('gradio_client')
    from vidrd.apis.app import GenerationApp, launch_app
    tmp = tmp_path_factory.mktemp('app_load')
    gate = threading.Event()
    generate = GenerationApp.generate

    def gated(self, *args, **kwargs):  # the server runs in this process, in its own threads
        assert gate.wait(TIMEOUT_S), 'the test never opened the gate'
        return generate(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GenerationApp, 'generate', gated)
        port = _free_port()
        page = launch_app(TINY, None, port=port, cfg_options=dict(model_options),
                          out_dir=str(tmp / 'videos'), block=False)
        try:
            yield (gradio_client.Client(f'http://127.0.0.1:{port}', verbose=False,
                                        download_files=str(tmp / 'downloads'),
                                        analytics_enabled=False),
                   tmp / 'videos', gate)
        finally:
            gate.set()
            page.close()


def _arguments(client, **values):
    """Every input of the page's run endpoint: its default, or None for an empty field."""
    params = client.view_api(return_format='dict', print_info=False)[
        'named_endpoints']['/run']['parameters']
    args = {p['parameter_name']: p['parameter_default'] if p.get('parameter_has_default')
            else None for p in params}
    unknown = set(values) - set(args)
    assert not unknown, f'the run endpoint has no {unknown}: {list(args)}'
    args.update(values)
    return list(args.values())


def _wait_until_queued(job, deadline: float) -> None:
    """Until the server has the request (queued, running or done), so the next one queues
    behind it."""
    from gradio_client.utils import Status
    waiting = (Status.STARTING, Status.JOINING_QUEUE)
    while job.status().code in waiting and not job.done():
        assert time.monotonic() < deadline, 'a request never reached the queue'
        time.sleep(0.01)


def test_concurrent_requests_complete_in_queue_order_past_a_failing_one(served, model_options):
    from gradio_client.exceptions import AppError

    from vidrd.datasets.video_io import read_video
    client, videos, gate = served
    frames_per_clip = model_options['model.long_video_sampler.num_frames']
    clips = {i: 1 + i % 3 for i in range(NUM_REQUESTS)}
    deadline = time.monotonic() + TIMEOUT_S
    jobs = []
    for i in range(NUM_REQUESTS):
        prompt = '' if i == FAILING else PROMPTS[i]
        jobs.append(client.submit(*_arguments(client, prompt_text=prompt, num_clips=clips[i],
                                              seed_value=i, num_steps=2), api_name='/run'))
        _wait_until_queued(jobs[-1], deadline)
    # all eight are in the server at once: the first waits at the gate, the rest in the queue
    assert not any(job.done() for job in jobs)
    gate.set()

    for i, job in enumerate(jobs):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f'the queue did not finish within {TIMEOUT_S} s'
        if i == FAILING:
            with pytest.raises(AppError, match='Enter a prompt'):
                job.result(timeout=remaining)
            continue
        path, download, note = job.result(timeout=remaining)
        frames = clips[i] * frames_per_clip
        assert note.startswith(f'{frames} frames, {clips[i]} clip(s), seed {i}'), (i, note)
        assert PROMPTS[i].replace(' ', '_') in osp.basename(path), (i, path)
        assert len(read_video(path)[0]) == frames, (i, path)
        assert download == path

    # none lost, and run in queue order: the app numbers its output folders as it runs them
    runs = sorted(videos.iterdir())
    assert [int(folder.name.split('_')[0]) for folder in runs] == list(
        range(1, NUM_REQUESTS))
    ran = [next(folder.glob('*.mp4')).name for folder in runs]
    queued = [PROMPTS[i].replace(' ', '_') for i in range(NUM_REQUESTS) if i != FAILING]
    assert [next(p for p in queued if p in name) for name in ran] == queued
