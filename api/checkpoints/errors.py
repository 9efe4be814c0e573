"""The one error of checkpoints: a file that cannot be read, a key or a signature that fails."""


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or its signature does not verify."""
