"""Test data of the geocoder: the address test set and its generator."""
