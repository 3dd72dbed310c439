"""The one named shape check, and the line between a caller's bug (ContractError, traceback kept) and a
user's mistake (ChangerError, one line, exit 2)."""

from __future__ import annotations

import pytest
import torch

from changer.core.checks import check_shape
from changer.core.errors import ChangerError, ContractError
from changer.core.keying import key


def test_named_sizes_bind_on_first_sight_and_must_match_after() -> None:
    dims = check_shape(torch.zeros(2, 3, 8, 6), "N 3 H W", "plate")
    assert dims == {"N": 2, "H": 8, "W": 6}
    assert check_shape(torch.zeros(1, 1, 8, 6), "* 1 H W", "matte", dims) == dims
    with pytest.raises(ContractError, match=r"matte: expected shape \(N=2, 1, H=8, W=6\), got \(1, 1, 8, 6\)"):
        check_shape(torch.zeros(1, 1, 8, 6), "N 1 H W", "matte", dims)


@pytest.mark.parametrize(("x", "spec", "match"), [
    (torch.zeros(3, 8, 8), "N 3 H W", r"expected shape \(N, 3, H, W\), got \(3, 8, 8\)"),
    (torch.zeros(1, 4, 8, 8), "N 3 H W", r"got \(1, 4, 8, 8\)"),
    ([[0.0]], "N 3 H W", "expected a torch tensor, got list"),
])
def test_a_wrong_tensor_names_itself_and_what_was_expected(x: object, spec: str, match: str) -> None:
    with pytest.raises(ContractError, match=match):
        check_shape(x, spec, "plate")


def test_floating_is_checked_on_request() -> None:
    with pytest.raises(ContractError, match="expected floating-point values, got torch.uint8"):
        check_shape(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), "N 3 H W", "plate", floating=True)


def test_a_contract_error_is_a_bug_not_a_user_mistake() -> None:
    assert not issubclass(ContractError, ChangerError)
    with pytest.raises(ContractError):
        key(torch.zeros(3, 8, 8))
