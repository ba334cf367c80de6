"""Incidents (突发事件/专项调度): opening, the append-only timeline, linked cases, closing."""
