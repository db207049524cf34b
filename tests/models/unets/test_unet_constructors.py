"""UNet3DConditionModel's alternative constructors live in the class (no attributes attached to
it from outside) and hand their arguments on to the loading functions."""
import inspect

import pytest

from vidrd.models.unets import UNet3DConditionModel, loading, modelscope

CONSTRUCTORS = [('from_pretrained_2d', loading, 'build_unet_from_pretrained_2d'),
                ('from_original_checkpoint', loading, 'load_original_unet'),
                ('from_modelscope', modelscope, 'build_modelscope_unet')]


@pytest.mark.parametrize('method,module,function', CONSTRUCTORS)
def test_the_constructor_is_defined_in_the_class(method, module, function, monkeypatch):
    assert isinstance(UNet3DConditionModel.__dict__[method], staticmethod)
    assert inspect.getsourcefile(getattr(UNet3DConditionModel, method)).endswith(
        'unet3d_condition.py')
    calls = []
    monkeypatch.setattr(module, function, lambda *args, **kwargs: calls.append((args, kwargs)))
    getattr(UNet3DConditionModel, method)('some/folder', trust_pickle=True,
                                          gradient_checkpointing=True)
    (args, kwargs), = calls
    assert args[0] == 'some/folder' and kwargs['trust_pickle'] is True
    assert kwargs['gradient_checkpointing'] is True
