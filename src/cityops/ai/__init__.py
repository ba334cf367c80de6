"""R5 AI hub and AI supermarket (AI中台, AI超市). Until it lands, only its events are defined."""

from cityops.ai.events import Detection

__all__ = ["Detection"]
