import pytest

from simsuite.rewards import tolerance


def test_tolerance_shape():
    assert tolerance(0.5, (0.0, 1.0)) == 1.0
    assert tolerance(2.0, (0.0, 1.0)) == 0.0
    assert tolerance(2.0, (0.0, 1.0), margin=1.0, value_at_margin=0.1) == pytest.approx(0.1)
    assert 0.1 < tolerance(1.5, (0.0, 1.0), margin=1.0) < 1.0
