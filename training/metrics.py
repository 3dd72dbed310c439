"""Image quality metrics for evaluation: PSNR and SSIM, on the full image or inside a matte.

SSIM follows Wang et al. 2004: an 11×11 gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, data
range 1, computed on each channel and averaged ('valid' window positions only, like scikit-image's
``gaussian_weights=True`` with ``use_sample_covariance=False``). The masked variants average the SSIM
map (or the squared error) weighted by a soft matte, so they measure only the region that matters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-12
WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def psnr(a: torch.Tensor, b: torch.Tensor, matte: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image PSNR in dB of (N,C,H,W) images in [0,1] (inside ``matte`` if given); capped at 100."""
    err = (a - b) ** 2
    if matte is None:
        mse = err.flatten(1).mean(1)
    else:
        weight = matte.expand_as(err)
        mse = (err * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(EPS)
    return (10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))).clamp(max=100.0)


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The SSIM map (N,C,H−10,W−10) of (N,C,H,W) images in [0,1]."""
    k1d = _window(a)
    channels = a.shape[1]
    kernel = (k1d[:, None] * k1d[None, :]).expand(channels, 1, WINDOW, WINDOW)

    def filt(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, kernel, groups=channels)

    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    c1, c2 = K1**2, K2**2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def _window(like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(WINDOW, dtype=like.dtype, device=like.device) - WINDOW // 2
    w = torch.exp(-(x**2) / (2 * SIGMA**2))
    return w / w.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, matte: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image mean SSIM; inside ``matte`` (cropped like the map) if given."""
    smap = ssim_map(a, b).mean(1, keepdim=True)
    if matte is None:
        return smap.flatten(1).mean(1)
    crop = WINDOW // 2
    m = matte[..., crop:-crop, crop:-crop]
    return (smap * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(EPS)

