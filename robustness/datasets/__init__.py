"""Test-set readers."""
