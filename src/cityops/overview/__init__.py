"""R3 overview (总览): the parts of an area's overview, their cache and live stream."""
