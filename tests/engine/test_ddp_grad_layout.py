"""DDP's "Grad strides do not match bucket view strides" warning in 2-process CPU training.

Cause: ``Transformer2D`` returns ``x.reshape(n, h, w, c).permute(0, 3, 1, 2)``, a channels-last
view; it reaches the next ResNet's 1x1 ``conv_shortcut``, whose weight gradient then comes out
with channels-last strides, e.g. (96, 1, 96, 96) for a (32, 96, 1, 1) weight. The two layouts
hold the same numbers in the same order (only the strides of size-1 dimensions differ), but
DDP compares strides exactly, so it copies those gradients into its bucket instead of using them
in place, and warns. Harmless for the result (the 2-process test matches one process); the fix
is a ``.contiguous()`` on Transformer2D's output in vidrd/models/unets/transformer.py, which
this branch does not own. This test fails loudly (strict xfail) once that lands, so the marker
is removed then.
"""
import pytest
import torch
from mmengine.registry import init_default_scope

from vidrd.apis.run_config import load_config
from vidrd.registry import MODELS


def _mismatched_grad_strides(patch_transformer: bool, monkeypatch):
    import vidrd.models.unets.transformer as transformer
    if patch_transformer:
        forward = transformer.Transformer2D.forward
        monkeypatch.setattr(transformer.Transformer2D, 'forward',
                            lambda self, *a, **k: forward(self, *a, **k).contiguous())
    init_default_scope('vidrd')
    # the tiny config at its training clip length: whether the CPU convolution keeps the
    # channels-last layout depends on the sizes (2-frame clips, or the shrunk test model, do not)
    model = MODELS.build(load_config('configs/vidrd_tiny_shapes.py').model)
    torch.manual_seed(0)
    latents = torch.randn(2, 27, 8, 8, 8)
    context = model.encode_text(['a red circle moving left'] * 2)
    model.unet(latents, torch.tensor([10, 500]), context).square().mean().backward()
    return [name for name, p in model.unet.named_parameters()
            if p.grad is not None and p.grad.stride() != p.stride()]


def test_the_mismatch_comes_from_transformer2d_output_layout(monkeypatch):
    assert _mismatched_grad_strides(True, monkeypatch) == []


@pytest.mark.xfail(strict=True, reason='Transformer2D returns a channels-last view; fix with '
                   '.contiguous() in vidrd/models/unets/transformer.py (model-code branch)')
def test_no_parameter_gets_grads_of_another_layout(monkeypatch):
    assert _mismatched_grad_strides(False, monkeypatch) == []
