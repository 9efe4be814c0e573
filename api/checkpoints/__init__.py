"""Signed checkpoints of the hash chain's head, and the whole-log verification that uses them.

The signing key (Ed25519) is a file outside the database: whoever can rewrite the events and
re-chain them still cannot sign a checkpoint, and an auditor who keeps an exported checkpoint
(and the public key) can prove that the log still holds what it held then.

`keys` keeps the key, `signed` says what a checkpoint signs and how it is written to a file,
`store` keeps them in their table and audits the log, `signers` says who signed each one
(trusted, rotated, unknown), `timer` takes one every interval in the one process elected to.
"""

from api.checkpoints.errors import CheckpointError
from api.checkpoints.keys import (
    load_key,
    load_or_create_key,
    parse_public_key,
    public_key_text,
    read_keyring,
)
from api.checkpoints.signed import SignedCheckpoint, read_file, signed_message, write_file
from api.checkpoints.store import TABLE, Audit, Checkpoints
from api.checkpoints.timer import CheckpointTimer

__all__ = [
    "TABLE",
    "Audit",
    "CheckpointError",
    "CheckpointTimer",
    "Checkpoints",
    "SignedCheckpoint",
    "load_key",
    "load_or_create_key",
    "parse_public_key",
    "public_key_text",
    "read_file",
    "read_keyring",
    "signed_message",
    "write_file",
]
