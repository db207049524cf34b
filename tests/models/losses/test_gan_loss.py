"""GAN losses and LDM's adaptive weight."""
import pytest
import torch

from vidrd.models.losses import adaptive_gan_weight, discriminator_loss, generator_loss


def test_hinge_and_vanilla_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    assert generator_loss(fake, 'hinge').item() == pytest.approx(0.75)
    # relu(1 - real) = [0, .5], relu(1 + fake) = [0, 1.5]
    assert discriminator_loss(real, fake, 'hinge').item() == pytest.approx(0.5 * (0.25 + 0.75))
    sp = torch.nn.functional.softplus
    assert generator_loss(fake, 'vanilla').item() == pytest.approx(sp(-fake).mean().item())
    assert discriminator_loss(real, fake, 'vanilla').item() == pytest.approx(
        0.5 * (sp(-real).mean() + sp(fake).mean()).item())
    with pytest.raises(ValueError, match='wgan'):
        generator_loss(fake, 'wgan')


def test_adaptive_weight_is_the_gradient_norm_ratio():
    w = torch.tensor([[1.0, 2.0]], requires_grad=True)
    x = torch.tensor([[3.0], [4.0]])
    out = w @ x  # d out / d w = x^T
    rec, gan = 2.0 * out.sum(), 0.5 * out.sum()
    weight = adaptive_gan_weight(rec, gan, w, eps=0.0)
    assert weight.item() == pytest.approx(4.0)
    assert not weight.requires_grad
    assert adaptive_gan_weight(100 * rec, gan, w, eps=0.0, max_weight=10.0).item() == 10.0
    (rec + gan).backward()  # graphs were retained for the real backward pass
