"""The pipeline-stage rule: forward only in the sequence, outcomes win over late sends, unsubscribed is final."""

from __future__ import annotations

import pytest

from replies.stages import CATEGORY_STAGE, STAGES, WEBHOOK_STAGE, should_move, touch_stage


@pytest.mark.parametrize(
    ("current", "proposed", "moves"),
    [
        (None, "touch_1_sent", True),
        ("touch_1_sent", "touch_2_sent", True),
        ("touch_2_sent", "touch_1_sent", False),  # a late, redelivered send
        ("replied_interested", "touch_3_sent", False),
        ("touch_3_sent", "replied_interested", True),
        ("booked", "replied_interested", False),  # Instantly echoing our own interest update
        ("replied_interested", "booked", True),
        ("booked", "closed_lost", True),
        ("nurture", "replied_interested", True),
        ("became_client", "closed_lost", False),
        ("unsubscribed", "replied_interested", False),
        ("unsubscribed", "touch_2_sent", False),
        ("booked", "unsubscribed", True),
        ("touch_1_sent", "rejected", True),
        ("replied_interested", "rejected", False),
        ("nurture", "nurture", False),
    ],
)
def test_should_move(current: str | None, proposed: str, moves: bool) -> None:
    assert should_move(current, proposed) is moves


def test_touch_stages_stop_at_the_third() -> None:
    assert [touch_stage(step) for step in (1, 2, 3, 4, 9)] == ["touch_1_sent", "touch_2_sent"] + ["touch_3_sent"] * 3


def test_every_mapped_stage_is_one_of_the_seed_stages() -> None:
    assert set(CATEGORY_STAGE.values()) | set(WEBHOOK_STAGE.values()) <= set(STAGES)
    assert len(STAGES) == 19


def test_the_migration_checks_the_same_stages() -> None:
    import importlib.util
    from pathlib import Path

    import replies

    path = Path(replies.__file__).parent / "migrations" / "versions" / "0002_replies_and_actions.py"
    spec = importlib.util.spec_from_file_location("replies_migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.STAGES == STAGES
