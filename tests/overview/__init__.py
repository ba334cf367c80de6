"""Tests of the overview (总览): API, cache, live stream."""
