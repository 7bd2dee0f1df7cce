"""A helper module of hinge.py: the hinge terms of D's loss."""

import torch


def hinge_terms(real_logits: torch.Tensor, fake_logits: torch.Tensor, margin: float) -> torch.Tensor:
    """D's logits on a real and a fake batch -> () mean relu(m - D(x)) + mean relu(m + D(G(z)))."""
    return torch.relu(margin - real_logits).mean() + torch.relu(margin + fake_logits).mean()
