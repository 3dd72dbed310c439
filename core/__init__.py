"""The CHANGER engine: pure functions and small classes over torch tensors (device-agnostic)."""
