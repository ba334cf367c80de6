"""Events the AI hub (AI中台, R5) publishes: the contract its consumers build on."""

from __future__ import annotations

from pydantic import Field

from cityops.kit.events import PointReport


class Detection(PointReport):
    """An algorithm found something to handle in a picture or stream (a case opens).

    `key` is the detection's id (the case's source key); `owner_code` the org unit that owns
    the camera or picture; `algorithm` and `score` say what found it and how sure it was.
    """

    name = "ai.detection"
    algorithm: str = Field(default="", max_length=128)
    score: float | None = Field(default=None, ge=0, le=1)
