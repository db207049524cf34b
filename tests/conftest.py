"""Shared test settings.

Reference fixtures of the original implementation live outside the repo; their folder is
``$VIDRD_FIXTURES`` (default ``../shared/fixtures`` next to the repo). Where they are absent the
tests that need them skip, unless ``VIDRD_REQUIRE_FIXTURES=1`` (set by ``.ci/run``), where their
absence is a failure.
"""
import os
import os.path as osp

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.abspath(os.environ.get('VIDRD_FIXTURES', osp.join(REPO_ROOT, '..', 'shared', 'fixtures')))
REFERENCE = osp.join(FIXTURES, 'vidrd_reference')

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope='session')
def reference_dir() -> str:
    """Folder of the original implementation's tiny models and outputs."""
    if not osp.isdir(REFERENCE):
        msg = f'reference fixtures not found at {REFERENCE} (set VIDRD_FIXTURES)'
        if os.environ.get('VIDRD_REQUIRE_FIXTURES') == '1':
            pytest.fail(msg)
        pytest.skip(msg)
    return REFERENCE
