"""The Gradio app in a real browser: Debian's chromium driven by Playwright, headless.

A tiny model (the tiny config shrunk by TINY_TRAINING_OPTIONS, its trainable weights saved as a
checkpoint) is served on 127.0.0.1 through ``launch_app``; the test types a prompt, sets 2 clips,
clicks Generate, waits, and checks the <video> element's file: it plays in the browser and holds
2 clips x 4 frames. Invalid input (an empty prompt, a prompt with no known word) shows its
message in the page, and the status line no longer shows the last run's text. Choosing another
method shows its settings (and hides the clip sampler's strategies) and generates with it.
Skipped with the reason where chromium or Playwright is missing.
"""
import os.path as osp
import shutil
import socket

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def model_options(tiny_training_options):
    return {k: v for k, v in tiny_training_options.items() if k.startswith('model.')}


@pytest.fixture(scope='module')
def served_app(tmp_path_factory, model_options):
    pytest.importorskip('gradio')
    if not osp.exists(CHROMIUM):
        pytest.skip('no chromium: apt-get install -y chromium (as root; .ci/run does it)')
    pytest.importorskip('playwright.sync_api', reason='pip install playwright')
    from vidrd.apis import load_generation_model
    from vidrd.apis.app import launch_app
    tmp = tmp_path_factory.mktemp('app')
    model = load_generation_model(TINY, cfg_options=dict(model_options))
    checkpoint = str(tmp / 'tiny.pth')
    torch.save({'state_dict': model.trainable_state_dict()}, checkpoint)
    port = _free_port()
    page = launch_app(TINY, checkpoint, port=port, cfg_options=dict(model_options),
                      out_dir=str(tmp / 'videos'), block=False)
    yield f'http://127.0.0.1:{port}', tmp
    page.close()


@pytest.fixture(scope='module')
def browser_page(served_app, tmp_path_factory):
    from playwright.sync_api import sync_playwright
    url, _ = served_app
    profile = tmp_path_factory.mktemp('chromium_profile')
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = context.new_page()
        page.goto(url, wait_until='domcontentloaded', timeout=60_000)
        page.wait_for_selector('#generate', timeout=60_000)
        yield page
        context.close()


def _submit(page, prompt: str, clips: int) -> None:
    page.locator('#prompt textarea').fill(prompt)
    clips_input = page.locator('#num_clips input')
    clips_input.fill(str(clips))
    clips_input.press('Tab')  # commit the number before the click reads it
    page.locator('#generate').click()


def test_two_clips_play_in_the_browser_with_the_expected_frames(browser_page, model_options,
                                                               tmp_path):
    import av
    page = browser_page
    _submit(page, 'a red circle moving sideways', clips=2)
    video = page.locator('#video video')
    video.wait_for(state='attached', timeout=180_000)
    page.wait_for_function("document.querySelector('#video video').readyState >= 1",
                           timeout=60_000)  # the browser decoded the file's metadata
    source = video.evaluate('v => v.currentSrc')
    response = page.request.get(source)
    assert response.ok, source
    path = tmp_path / 'downloaded.mp4'
    path.write_bytes(response.body())
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 2 * model_options['model.long_video_sampler.num_frames']
    # the word the demo's tokenizer does not know is named in the page
    status = page.locator('#status')
    status.get_by_text('sideways').wait_for(timeout=10_000)
    assert f'{frames} frames' in status.inner_text()
    # the download offers the same file
    assert page.locator('#download a').first.get_attribute('href')


@pytest.mark.parametrize('prompt, message', [
    ('', 'Enter a prompt'),
    ('purple hexagon', 'is known to this model'),
])
def test_invalid_input_shows_its_message(browser_page, prompt, message):
    page = browser_page
    _submit(page, prompt, clips=1)
    page.get_by_text(message).first.wait_for(timeout=30_000)
    # the last run's "N frames, K clip(s), seed S." is gone
    assert 'frames' not in page.locator('#status').inner_text()


def test_another_method_shows_its_settings_and_generates(browser_page, model_options):
    page = browser_page
    # the tiny config's own method (FIFO-Diffusion) is chosen first
    assert page.locator('#FIFODiffusionSampler_settings').is_visible()
    assert not page.locator('#clip_settings').is_visible()
    assert not page.locator('#TemporalCoDenoisingSampler_settings').is_visible()
    page.locator('#method input').click()
    page.get_by_role('option', name='TemporalCoDenoisingSampler').click()
    page.locator('#TemporalCoDenoisingSampler_settings').wait_for(state='visible',
                                                                  timeout=10_000)
    assert not page.locator('#FIFODiffusionSampler_settings').is_visible()
    _submit(page, 'a red circle moving left', clips=2)
    page.locator('#status').get_by_text('TemporalCoDenoisingSampler').wait_for(timeout=180_000)
    frames = 2 * model_options['model.long_video_sampler.num_frames']
    assert f'{frames} frames, 2 clip(s)' in page.locator('#status').inner_text()
