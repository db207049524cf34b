"""The documentation read from the code stays equal to the code.

``tools/docs/generate_pages.py`` writes the files every shipped config needs, the plugin guide's
registry table and the registered components into docs/; these tests fail when a committed
page differs from what it writes (run the script to update them), and check that the
missing-path error sends users to a page that lists what the error names.
"""
import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def generator():
    return _load('tools/docs/generate_pages.py', 'generate_pages')


@pytest.fixture(scope='module')
def pages(generator):
    return generator.generated_pages(REPO)


def test_committed_pages_equal_the_generated_ones(pages):
    stale = [page for page, (committed, generated) in pages.items() if committed != generated]
    assert not stale, (f'out of date: {", ".join(stale)}; run python '
                       'tools/docs/generate_pages.py and commit the pages')


def test_every_registry_is_in_the_plugin_guide_table(pages):
    import vidrd.registry as registry
    names = [n for n, v in vars(registry).items() if isinstance(v, registry.VidrdRegistry)]
    _, table = pages['docs/user_guides/writing_a_plugin.md']
    for name in names:
        assert f'| `{name}` |' in table, name
    # samplers are models; feature extractors are vidrd's own kind, not mmengine metrics
    assert 'LongVideoSampler' in table and 'VideoFeatureExtractor' in table


def test_missing_path_error_names_the_page_that_lists_every_path_it_names(tmp_path, pages):
    from vidrd.apis.config_files import FILES_PAGE
    from vidrd.apis.run_config import check_paths, load_config
    _, page = pages[FILES_PAGE]
    for config in ('configs/vidrd_sd21_ucf.py', 'configs/vidrd_released.py',
                   'configs/vae_temporal_sd21_ucf.py'):
        cfg = load_config(osp.join(REPO, config), work_dir=str(tmp_path))
        with pytest.raises(FileNotFoundError) as err:
            check_paths(cfg, sections=('model', 'train_dataloader', 'test_dataloader',
                                       'test_evaluator'))
        message = str(err.value)
        assert FILES_PAGE in message and '--cfg-options' in message
        named, sources = message.split('where they come from:')
        lines = [line.strip() for line in named.splitlines() if ' = ' in line]
        assert lines
        for line in lines:  # "key = 'path'"
            key, path = line.split(' = ', 1)
            path = path.split("'")[1]
            assert f'`{key}` = `{osp.normpath(path)}`' in page, (config, key, path)
            # where it comes from, once per folder
            assert sum(path.startswith(s.strip().split(':')[0]) for s in
                       sources.splitlines() if s.startswith('  ')) == 1, (config, path)


def test_the_list_names_what_the_issue_found_missing(pages):
    from vidrd.apis.config_files import FILES_PAGE
    _, page = pages[FILES_PAGE]
    for path in ('data/evaluation/i3d_torchscript.pt', 'data/evaluation/c3d_ucf101.pt',
                 'data/evaluation/ucf101_i3d_stats.npz', 'data/lpips/vgg.pth', 'data/webvid',
                 'data/images', 'data/text-to-video-ms-1.7b/unet', 'data/zeroscope_v2_576w/unet',
                 'data/stable-diffusion-v1-5/unet', 'data/animatediff/mm_sd_v15_v2.ckpt',
                 'data/vidrd/ModelT2V.pth', 'data/stable-diffusion-2-1-base/text_encoder'):
        assert f'| `{path}` |' in page, path


def test_a_path_without_a_source_is_refused(generator, monkeypatch):
    from vidrd.apis import config_files
    from vidrd.utils.cli import InvalidValueError
    sources = tuple(s for s in config_files.FILE_SOURCES if s[0] != 'data/webvid')
    monkeypatch.setattr(config_files, 'FILE_SOURCES', sources)
    with pytest.raises(InvalidValueError, match='data/webvid.*FILE_SOURCES'):
        generator.config_files_block(REPO)


def test_the_site_hook_rewrites_repository_links_into_site_links():
    pytest.importorskip('mkdocs')
    hooks = _load('docs/hooks/external_pages.py', 'external_pages')
    rewrite = hooks._rewrite
    # a docs page linking to the model zoo, another guide, an anchor
    assert rewrite('../../configs/README.md', 'docs/user_guides/x.md',
                   'user_guides/x.md') == '../model_zoo.md'
    assert rewrite('long_videos.md', 'docs/user_guides/x.md', 'user_guides/x.md') == \
        'long_videos.md'
    # the model zoo (configs/README.md) linking into docs/
    assert rewrite('../docs/user_guides/long_videos.md', 'configs/README.md',
                   'model_zoo.md') == 'user_guides/long_videos.md'
    assert rewrite('../docs/long_videos_on_the_demo.md', 'configs/README.md',
                   'model_zoo.md') == 'long_videos_on_the_demo.md'
    # the changelog linking to a note; external links stay
    assert rewrite('docs/notes/performance.md', 'CHANGELOG.md',
                   'notes/changelog.md') == 'performance.md'
    assert rewrite('https://example.org/a.md', 'CHANGELOG.md', 'notes/changelog.md') == \
        'https://example.org/a.md'
    text = hooks._LINK.sub(
        lambda m: m.group(1) + rewrite(m.group(2), 'configs/README.md', 'model_zoo.md')
        + (m.group(3) or '') + m.group(4),
        'see [x](../docs/user_guides/long_videos.md#sampler-configs-are-overlays).')
    assert text == 'see [x](user_guides/long_videos.md#sampler-configs-are-overlays).'
