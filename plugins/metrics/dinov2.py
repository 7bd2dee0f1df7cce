"""DINOv2 ViT features (Oquab et al. 2023) for FD_DINOv2 (Stein et al. 2023), from a local weights file.

Stein et al. ("Exposing flaws of generative model evaluation metrics") found the Fréchet distance
in DINOv2 ViT-L/14 feature space tracks human judgement better than Inception FID. Their code's
(dgm-eval) protocol, followed here: uint8 RGB images resized to 224x224 by PIL's bicubic filter
(what torchvision's Resize does to a PIL image), scaled to [0, 1], normalised with the ImageNet
mean and sd; features = the class token after the final layer norm (the hub model's output).
torch-fidelity's DINOv2 resizes with TF1 bilinear instead, so its numbers differ slightly.

The network is the official DinoVisionTransformer's forward pass (pre-norm ViT, layer scale,
patch 14), written out here because timm (the library that has it) needs torchvision, which does
not import beside a CPU build of torch (and then breaks torchmetrics' image metrics). It reads the official checkpoints
(dinov2_vit{s,b,l}14_pretrain.pth: cls_token, pos_embed, patch_embed.proj, blocks.i.{norm1, attn.qkv,
attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}, norm) and timm's vit_*_patch14_dinov2
state dicts (the same names). The 37x37 position grid of the 518-pixel training size is
resampled to 16x16 as the official code does (bicubic, scale factor (16 + 0.1) / 37, no
antialiasing). Nothing is downloaded; the file is read with weights_only=True.
The giant model (SwiGLU MLP) is not supported.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from genbench import DataError, load_weights

PATCH = 14
SIZE = 224  # input side: a 16x16 grid of patches
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet
WIDTHS = {384: ("vits14", 12, 6), 768: ("vitb14", 12, 12), 1024: ("vitl14", 24, 16)}  # width -> name, depth, heads
FILES = "dinov2_vits14_pretrain.pth (or vitb14, vitl14)"


class Block(nn.Module):
    """Pre-norm transformer block with layer scale: x + g1 * attn(norm(x)), then + g2 * mlp(norm(x))."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=1e-6), nn.LayerNorm(width, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv, self.attn.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.ls1, self.ls2 = nn.Module(), nn.Module()
        self.ls1.gamma, self.ls2.gamma = nn.Parameter(torch.ones(width)), nn.Parameter(torch.ones(width))
        self.mlp = nn.Sequential()
        self.mlp.fc1, self.mlp.act, self.mlp.fc2 = nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        n, t, width = x.shape
        q, k, v = self.attn.qkv(x).view(n, t, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)  # (n, h, t, c)
        out = F.scaled_dot_product_attention(q, k, v)  # (n, heads, t, c)
        return self.attn.proj(out.transpose(1, 2).reshape(n, t, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1.gamma * self.attention(self.norm1(x))
        return x + self.ls2.gamma * self.mlp(self.norm2(x))


class DINOv2(nn.Module):
    """Images (N, C, H, W) in [-1, 1] -> (N, width) class-token features."""

    def __init__(self, width: int, depth: int, heads: int, grid: int = 37):
        super().__init__()
        self.num_features = width
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, width, PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, width))  # at the training size
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def positions(self, side: int) -> torch.Tensor:
        """(1, 1 + side^2, width): the class position and the patch grid resampled to side x side."""
        cls, grid = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        old = int(grid.shape[1] ** 0.5)
        if old != side:
            grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)  # (1, width, old, old)
            scale = (side + 0.1) / old  # the official interpolate_offset of 0.1
            grid = F.interpolate(grid, scale_factor=(scale, scale), mode="bicubic", align_corners=False)
            grid = grid.permute(0, 2, 3, 1).reshape(1, side * side, -1)
        return torch.cat([cls, grid], dim=1)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = resize_like_pil(images).to(images.device) / 255  # (N, 3, 224, 224) in [0, 1]
        x = (x - self.mean) / self.std
        return self.embed(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images (N, 3, 224, 224) -> (N, width) class tokens."""
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)  # (N, 256, width)
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1) + self.positions(SIZE // PATCH)
        for block in self.blocks:
            x = block(x)  # (N, 257, width)
        return self.norm(x[:, 0])  # (N, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raise ValueError("DINOv2 has no classifier head: FID, KID and PRDC only, not the Inception Score")


def resize_like_pil(images: torch.Tensor) -> torch.Tensor:
    """images (N, C, H, W) in [-1, 1] -> (N, 3, 224, 224) float32 uint8 values: PIL's bicubic resize
    of the uint8 RGB images (grey repeated), as dgm-eval's torchvision Resize on PIL images."""
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()  # (N, C, H, W)
    pixels = pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels
    resized = [np.asarray(Image.fromarray(image.permute(1, 2, 0).numpy(), "RGB").resize((SIZE, SIZE),
                                                                                         Image.BICUBIC))
               for image in pixels]  # N x (224, 224, 3) uint8
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).float()


def load_dinov2(path) -> tuple[DINOv2, str]:
    """The network with the file's weights (read with weights_only=True), and its name; DataError if not DINOv2."""
    state = load_weights(path, "DINOv2 weights file", f"Fix: use the official DINOv2 checkpoint {FILES}")
    if not isinstance(state, dict) or "pos_embed" not in state or state["pos_embed"].shape[-1] not in WIDTHS:
        raise DataError(f"{path} is not a DINOv2 ViT-S/B/L/14 state dict (no pos_embed of width 384, 768 or "
                        f"1024). Fix: use the official DINOv2 checkpoint {FILES}")
    state = {key: value for key, value in state.items() if key != "mask_token"}  # for masked training only
    name, depth, heads = WIDTHS[state["pos_embed"].shape[-1]]
    grid = int((state["pos_embed"].shape[1] - 1) ** 0.5)
    net = DINOv2(state["pos_embed"].shape[-1], depth, heads, grid)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DataError(f"{path} does not fit DINOv2 {name}: missing {len(missing)} weights {missing[:3]}, "
                        f"unexpected {len(unexpected)} {unexpected[:3]} (the giant model is not supported). "
                        f"Fix: use the official DINOv2 checkpoint {FILES}")
    return net.eval().requires_grad_(False), f"dinov2-{name}"
