import io
import sys

from levelsets.progress import LOG_INTERVAL, progress_bar


def test_bar_is_quiet_in_logs(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a TTY
    bar = progress_bar(range(3), desc="x", unit="step")
    assert bar.mininterval == LOG_INTERVAL
    assert list(bar) == [0, 1, 2]


def test_disabled_bar_keeps_the_interface():
    bar = progress_bar(total=5, enabled=False)
    bar.update(2)
    bar.set_postfix(a=1)
    bar.close()
    assert bar.disable
