"""What cases put into the outbox: the timeline hooks every case environment runs.

Each hook sees every timeline entry inside the entry's transaction and may `enqueue` outbox
rows, which then commit with the step or not at all. The case core knows only the hook list.
"""

from __future__ import annotations

from cityops.cases.env import TimelineHook
from cityops.cases.notices.wechat import wechat_notices
from cityops.cases.sources.hotline.callbacks import hotline_callbacks


def case_hooks() -> list[TimelineHook]:
    """The platform's timeline hooks: 12345 callbacks, WeCom and official-account notices."""
    return [hotline_callbacks, wechat_notices]
