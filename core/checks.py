"""One named tensor-shape check for the engine's functions, in the manner of kornia's ``KORNIA_CHECK_SHAPE``.

A shape spec is a space-separated list of dimensions: a number is that exact size, a name (``N``,
``H``, ``W``...) binds the size it first meets and must match it afterwards, ``*`` is any size.
Passing the returned ``dims`` to the next check ties tensors together ("the same N, H, W as the
plate"). A failed check raises :class:`~changer.core.errors.ContractError`, which keeps its
traceback: a wrong shape here is a bug in the caller, not a user mistake.
"""

from __future__ import annotations

import torch

from .errors import ContractError


def check_shape(x: object, spec: str, name: str = "tensor", dims: dict[str, int] | None = None, *,
                floating: bool = False) -> dict[str, int]:
    """Check that ``x`` is a tensor shaped like ``spec``; returns the named sizes (``dims`` extended).

    >>> import torch
    >>> dims = check_shape(torch.zeros(2, 3, 8, 6), "N 3 H W", "plate")
    >>> dims
    {'N': 2, 'H': 8, 'W': 6}
    >>> check_shape(torch.zeros(2, 1, 8, 6), "N 1 H W", "matte", dims)
    {'N': 2, 'H': 8, 'W': 6}
    >>> check_shape(torch.zeros(2, 1, 4, 6), "N 1 H W", "matte", dims)
    Traceback (most recent call last):
    ...
    changer.core.errors.ContractError: matte: expected shape (N=2, 1, H=8, W=6), got (2, 1, 4, 6)
    """
    if not isinstance(x, torch.Tensor):
        raise ContractError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    tokens = spec.split()
    bound = dict(dims or {})
    ok = x.dim() == len(tokens)
    for token, size in zip(tokens, x.shape, strict=False):
        if token == "*":
            continue
        if token.isdigit():
            ok = ok and size == int(token)
        elif bound.setdefault(token, size) != size:
            ok = False
    if not ok:
        want = ", ".join(f"{t}={bound[t]}" if t in bound and (dims or {}).get(t) is not None else t for t in tokens)
        raise ContractError(f"{name}: expected shape ({want}), got {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise ContractError(f"{name}: expected floating-point values, got {x.dtype}")
    return bound
