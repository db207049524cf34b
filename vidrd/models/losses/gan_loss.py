"""Adversarial losses of the VAE decoder fine-tuning (LDM / taming-transformers style).

The generator (the VAE decoder) minimises ``generator_loss(D(x_hat))``; the discriminator
minimises ``discriminator_loss(D(x), D(x_hat))``. ``adaptive_gan_weight`` balances the GAN term
against the reconstruction term (Esser et al. 2021, eq. 7):
lambda = ||grad_w L_rec|| / (||grad_w L_GAN|| + delta), w the generator's last layer.
"""
import torch
import torch.nn.functional as F
from vidrd.utils.errors import InvalidValueError

GAN_LOSS_TYPES = ('hinge', 'vanilla')


def _check(kind: str) -> None:
    if kind not in GAN_LOSS_TYPES:
        raise InvalidValueError(f'gan loss {kind!r} not supported; use one of {GAN_LOSS_TYPES}')


def generator_loss(logits_fake: torch.Tensor, kind: str = 'hinge') -> torch.Tensor:
    """Hinge: -E[D(x_hat)] (as LDM); vanilla (non-saturating): E[softplus(-D(x_hat))]."""
    _check(kind)
    if kind == 'hinge':
        return -logits_fake.mean()
    return F.softplus(-logits_fake).mean()


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor,
                       kind: str = 'hinge') -> torch.Tensor:
    """Hinge: (E[relu(1 - D(x))] + E[relu(1 + D(x_hat))]) / 2; vanilla: the logistic loss / 2."""
    _check(kind)
    if kind == 'hinge':
        return 0.5 * (F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean())
    return 0.5 * (F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean())


def adaptive_gan_weight(rec_loss: torch.Tensor, gan_loss: torch.Tensor,
                        last_layer_weight: torch.Tensor, eps: float = 1e-4,
                        max_weight: float = 1e4) -> torch.Tensor:
    """lambda = ||d rec / d w|| / (||d gan / d w|| + eps), clamped to [0, max_weight], detached.

    Both losses must depend on ``last_layer_weight`` (the graphs are kept for the backward pass
    that follows).
    """
    rec_grad = torch.autograd.grad(rec_loss, last_layer_weight, retain_graph=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer_weight, retain_graph=True)[0]
    weight = rec_grad.norm() / (gan_grad.norm() + eps)
    return torch.clamp(weight, 0.0, max_weight).detach()
