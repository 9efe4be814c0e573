"""`python -m bench.signature_digest [CRITERIA]`: what R27's `signed_digest` adds to a signature.

In memory, in the same run: the baseline is the whole approve command as the Ledger runs it on
a cached project (its copy, the command with its guards, the event collected), on a deliverable
with CRITERIA criteria (default 10), each with evidence and a digest; then the digest alone
(`domain.signatures.deliverable_digest`: the canonical document and its SHA-256), which the
command includes. Prints both (best of 5) and the digest's share of the command.
"""

from __future__ import annotations

import copy
import sys
import timeit

from domain.project import Project
from domain.roles import ProjectRole
from domain.signatures import deliverable_digest
from domain.states import DeliverableState


def main(criteria: int = 10) -> None:
    project = Project.create(name="Bench", actor="alice")
    project.set_member("carol", ProjectRole.REVIEWER, actor="alice")
    phase = project.add_phase("P", actor="alice")
    did = project.define_deliverable(title="Spec", phase_id=phase, actor="alice")
    for n in range(criteria):
        cid = project.add_criterion(did, f"criterion {n}", actor="alice")
        project.record_evidence(did, cid, f"https://e.example/{n}", "ab" * 32, actor="alice")
    project.submit(did, actor="alice")
    project.collect_events()

    def approve() -> None:
        work = copy.deepcopy(project)
        work.approve(did, actor="carol")
        work.collect_events()

    def digest() -> None:
        deliverable_digest(project.deliverable(did), DeliverableState.APPROVED)

    n = 2000
    command = min(timeit.repeat(approve, number=n, repeat=5)) / n
    alone = min(timeit.repeat(digest, number=n, repeat=5)) / n
    print(
        f"approve, {criteria} criteria (copy + command + event): {command * 1e6:.1f} µs; "
        f"its signed_digest alone: {alone * 1e6:.1f} µs = {alone / command:.2f} × the command"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
