"""Launcher helpers that need no scheduler."""

from __future__ import annotations


def test_poll_delays_grow_to_the_longest():
    from itertools import islice

    from robustness.executors.sweep import poll_delays

    assert list(islice(poll_delays(5.0, first=1.0, factor=2.0), 6)) == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert list(islice(poll_delays(0.5), 3)) == [0.5, 0.5, 0.5]
