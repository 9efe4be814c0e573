"""Webhook subscriptions through the API: who may manage them, the secret shown once, the
targets refused (SSRF), and problem answers that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.postgres.principals import TokenScope
from api.bootstrap import Container
from api.pruning import DeliveryLogPruner
from application.access import GlobalRole, Principal
from application.webhooks import Delivery, delivers_for_a_manager
from tests.integration.conftest import User, Users

# A literal public address: no DNS needed, and the subscriptions are made inactive, so nothing
# is ever sent to it.
PUBLIC_URL = "https://93.184.215.14/hooks/milestones"


def _project(manager: User) -> str:
    return str(_created(manager)["project_id"])


def _created(manager: User) -> dict[str, Any]:
    """A new project's answer: its id and the position to read the views at (min_position)."""
    return dict(manager.post("/v1/projects", {"name": "Hooks"}).json())


def _subscribe(user: User, project_id: str | None, **extra: Any) -> Any:
    body: dict[str, Any] = {"url": PUBLIC_URL, "active": False, **extra}
    if project_id is not None:
        body["project_id"] = project_id
    return user.post("/v1/webhooks", body)


def test_a_manager_subscribes_and_sees_the_secret_only_once(users: Users) -> None:
    manager = users("manager")
    pid = _project(manager)

    created = _subscribe(manager, pid, event_types=["MilestoneAchieved"])
    shown = manager.get(f"/v1/webhooks/{created.json()['id']}")

    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/webhooks/{created.json()['id']}"
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["event_types"] == ["MilestoneAchieved"]
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    assert shown.json()["project_id"] == pid


def test_a_project_member_below_manager_cannot_subscribe(users: Users) -> None:
    manager, reviewer = users("manager"), users("reviewer")
    pid = _project(manager)
    manager.post(f"/v1/projects/{pid}/members", {"principal": reviewer.name, "role": "reviewer"})

    refused = _subscribe(reviewer, pid)

    assert refused.status_code == 403
    assert manager.get("/v1/webhooks", params={"project_id": pid}).json()["webhooks"] == []


def test_a_stranger_is_told_neither_the_project_nor_its_subscriptions_exist(users: Users) -> None:
    manager, stranger = users("manager"), users("stranger")
    pid = _project(manager)
    hook = _subscribe(manager, pid).json()["id"]

    assert _subscribe(stranger, pid).status_code == 404
    assert stranger.get(f"/v1/webhooks/{hook}").status_code == 404
    assert stranger.get("/v1/webhooks").json()["webhooks"] == []
    assert stranger.delete(f"/v1/webhooks/{hook}").status_code == 404
    assert manager.get(f"/v1/webhooks/{hook}").status_code == 200


def test_only_an_admin_subscribes_to_every_project(users: Users) -> None:
    member, admin = users("member"), users("admin", GlobalRole.ADMIN)

    refused = _subscribe(member, None)
    allowed = _subscribe(admin, None)

    assert refused.status_code == 422
    assert allowed.status_code == 201
    assert allowed.json()["project_id"] is None
    assert any(
        w["id"] == allowed.json()["id"] for w in admin.get("/v1/webhooks").json()["webhooks"]
    )


def test_a_manager_lists_only_the_subscriptions_of_projects_it_manages(users: Users) -> None:
    one, two = users("manager"), users("manager")
    mine = _subscribe(one, _project(one)).json()["id"]
    _subscribe(two, _project(two))
    # The list looks at the projects the projects view says one manages: let it catch up.
    container = users.container
    assert container.runner.wait_for(container.ledger.recorder.max_notification_id() or 0, 10)

    listed = [w["id"] for w in one.get("/v1/webhooks").json()["webhooks"]]

    assert listed == [mine]


def test_changing_and_deleting_a_subscription(users: Users) -> None:
    manager = users("manager")
    hook = _subscribe(manager, _project(manager)).json()["id"]

    changed = manager.patch(f"/v1/webhooks/{hook}", {"event_types": ["MilestoneDefined"]})
    deleted = manager.delete(f"/v1/webhooks/{hook}")

    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["MilestoneDefined"]
    assert deleted.status_code == 204
    assert manager.get(f"/v1/webhooks/{hook}").status_code == 404


def test_an_unknown_event_type_is_a_problem_and_changes_nothing(users: Users) -> None:
    manager = users("manager")
    pid = _project(manager)

    refused = _subscribe(manager, pid, event_types=["MilestoneInProgress"])

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "MilestoneInProgress" in refused.json()["detail"]
    assert manager.get("/v1/webhooks", params={"project_id": pid}).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("https://172.16.5.5/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        # 6to4 carrying 127.0.0.1 and 169.254.169.254, and site-local (review finding F5)
        ("http://[2002:7f00:1::]/hook", "loopback"),
        ("http://[2002:a9fe:a9fe::]/hook", "link-local"),
        ("http://[fec0::1]/hook", "site-local"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://localhost:9/hook", "loopback"),  # a name that resolves to one
        ("ftp://93.184.215.14/hook", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("https://user:pw@93.184.215.14/hook", "user name"),
        ("https:///hook", "no host"),
    ],
)
def test_a_target_that_could_reach_inside_is_refused(users: Users, url: str, why: str) -> None:
    manager = users("manager")
    created = _created(manager)
    pid = created["project_id"]

    refused = manager.post("/v1/webhooks", {"url": url, "project_id": pid})
    changed = manager.patch(f"/v1/webhooks/{_subscribe(manager, pid).json()['id']}", {"url": url})

    assert refused.status_code == 422
    assert why in refused.json()["detail"]
    assert changed.status_code == 422
    listed = manager.get("/v1/webhooks", params={"min_position": created["position"]})
    assert [w["url"] for w in listed.json()["webhooks"]] == [PUBLIC_URL]


def test_replay_moves_the_subscription_back_and_resumes_it(users: Users) -> None:
    manager = users("manager")
    hook = _subscribe(manager, _project(manager)).json()["id"]

    replayed = manager.post(f"/v1/webhooks/{hook}/replay", {"from_position": 1})
    bad = manager.post(f"/v1/webhooks/{hook}/replay", {"from_position": 0})

    assert replayed.status_code == 200
    assert replayed.json()["position"] == 0
    assert bad.status_code == 422


def test_a_new_subscription_has_an_empty_delivery_log(users: Users) -> None:
    manager = users("manager")
    hook = _subscribe(manager, _project(manager)).json()["id"]

    log = manager.get(f"/v1/webhooks/{hook}/deliveries")

    assert log.status_code == 200
    assert log.json() == {"deliveries": [], "next_before": None}


def test_a_subscription_to_a_project_that_does_not_exist_is_refused(users: Users) -> None:
    admin = users("admin", GlobalRole.ADMIN)

    refused = _subscribe(admin, "00000000-0000-4000-8000-000000000000")

    assert refused.status_code == 404


def test_the_delivery_log_forgets_attempts_older_than_its_days(
    users: Users, container: Container
) -> None:
    manager = users("manager")
    hook = UUID(_subscribe(manager, _project(manager)).json()["id"])
    sub = container.webhook_store.get(hook)
    assert sub is not None
    now = datetime.now(UTC)
    old, recent = (
        Delivery(f"msg_{n}", n, "PhaseAdded", 1, at, "delivered", 204, 3, None)
        for n, at in ((1, now - timedelta(days=31)), (2, now - timedelta(days=29)))
    )
    assert container.webhook_store.record_delivered(sub, [old, recent], sub.position)

    DeliveryLogPruner(container.webhook_store.prune_deliveries, 30).prune()

    log = manager.get(f"/v1/webhooks/{hook}/deliveries").json()["deliveries"]
    assert [d["message_id"] for d in log] == ["msg_2"]


# --- review findings (F1, F3): token scopes narrow webhooks; a subscription delivers for a
# manager --------------------------------------------------------------------------------------


def _token(container: Container, user: User, scope: TokenScope) -> User:
    return User(user.name, container.principals.create_token(user.name, scope), user.client)


def test_a_read_only_admin_token_reads_webhooks_and_changes_none(
    users: Users, container: Container
) -> None:
    admin = users("admin", GlobalRole.ADMIN)
    manager = users("manager")
    hook = _subscribe(manager, _project(manager)).json()["id"]
    reader = _token(container, admin, TokenScope(read_only=True))

    assert reader.get(f"/v1/webhooks/{hook}").status_code == 200
    for refused in (
        reader.patch(f"/v1/webhooks/{hook}", {"url": "https://93.184.215.15/x"}),
        reader.post(f"/v1/webhooks/{hook}/replay", {"from_position": 1}),
        reader.delete(f"/v1/webhooks/{hook}"),
    ):
        assert refused.status_code == 403, refused.text
    assert manager.get(f"/v1/webhooks/{hook}").json()["url"] == PUBLIC_URL


def test_an_admin_token_scoped_to_one_project_does_not_reach_anothers_webhooks(
    users: Users, container: Container
) -> None:
    admin = users("admin", GlobalRole.ADMIN)
    manager = users("manager")
    mine, theirs = _project(manager), _project(manager)
    their_hook = _subscribe(manager, theirs).json()["id"]
    my_hook = _subscribe(manager, mine).json()["id"]
    scoped = _token(container, admin, TokenScope(projects=frozenset({UUID(mine)})))

    assert scoped.get(f"/v1/webhooks/{their_hook}").status_code == 404
    assert scoped.patch(f"/v1/webhooks/{their_hook}", {"active": True}).status_code == 404
    assert scoped.post(f"/v1/webhooks/{their_hook}/replay", {"from_position": 1}).status_code == 404
    # Listing and subscribing need a token that may create (not scoped): 403, as for projects.
    assert scoped.get("/v1/webhooks").status_code == 403
    assert scoped.get(f"/v1/webhooks/{my_hook}").status_code == 200
    assert _subscribe(scoped, None).status_code == 403


def test_a_subscription_stops_delivering_for_a_manager_removed_from_the_project(
    users: Users, container: Container
) -> None:
    owner, leaver = users("owner"), users("leaver")
    pid = _project(owner)
    owner.post(f"/v1/projects/{pid}/members", {"principal": leaver.name, "role": "manager"})
    hook = UUID(_subscribe(leaver, pid).json()["id"])
    store = container.webhooks
    subscription = store.get(owner_principal(owner), hook)
    assert delivers_for_a_manager(container.ledger, subscription)

    owner.delete(f"/v1/projects/{pid}/members/{leaver.name}")

    assert not delivers_for_a_manager(container.ledger, subscription)
    # A manager who resumes it makes it theirs: it delivers again.
    owner.patch(f"/v1/webhooks/{hook}", {"active": True})
    assert delivers_for_a_manager(container.ledger, store.get(owner_principal(owner), hook))


def owner_principal(user: User) -> Principal:
    return Principal(user.name)
