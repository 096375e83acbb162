"""Min/max downsampling: spikes survive, NaN and infinities are kept, zooming gives full resolution."""

import numpy as np

from localrun.viewer.downsample import downsample


def test_a_short_series_comes_back_whole():
    x = np.arange(10.0)
    y = np.sin(x)
    xs, ys, count, sampled = downsample(x, y, 2000)
    assert not sampled and count == 10
    assert xs.tolist() == x.tolist() and ys.tolist() == y.tolist()


def test_a_long_series_is_cut_to_about_points_and_keeps_every_buckets_min_and_max():
    rng = np.random.default_rng(0)
    n, points = 1_000_000, 2000
    x = np.arange(n, dtype=np.float64)
    y = rng.normal(size=n)
    y[123_457] = 50.0  # one-point spikes, up and down
    y[765_433] = -50.0
    xs, ys, count, sampled = downsample(x, y, points)
    assert sampled and count == n
    assert len(xs) <= points + 2
    assert 50.0 in ys.tolist() and -50.0 in ys.tolist()
    assert xs[ys.tolist().index(50.0)] == 123_457  # at its own x
    assert xs[0] == 0 and xs[-1] == n - 1  # the line reaches both ends
    assert np.all(np.diff(xs) > 0)
    # Every bucket's extremes: the global min and max of any slice of buckets are kept.
    size = -(-n // (points // 2))
    for b in (0, 17, 499, 999):
        chunk = y[b * size : (b + 1) * size]
        assert chunk.max() in ys and chunk.min() in ys


def test_nan_and_infinities_are_kept_once_per_bucket_and_never_hide_the_finite_extremes():
    n = 10_000
    x = np.arange(n, dtype=np.float64)
    y = np.ones(n)
    y[::3] = np.nan  # a third of the points
    y[5000] = np.inf
    y[5001] = -np.inf
    y[7777] = 9.0
    xs, ys, count, sampled = downsample(x, y, 100)
    assert sampled
    nan_x = xs[np.isnan(ys)]
    assert 40 <= len(nan_x) <= 51  # one per bucket (50 buckets; and the last point), not thousands
    assert 5000 in xs[np.isposinf(ys)] and 5001 in xs[np.isneginf(ys)]
    assert 9.0 in ys
    assert len(xs) < 250


def test_zooming_in_gives_full_resolution_with_one_point_beyond_each_edge():
    n = 1_000_000
    x = np.arange(n, dtype=np.float64)
    y = np.cos(x)
    xs, ys, count, sampled = downsample(x, y, 2000, lo=500_000, hi=500_999)
    assert not sampled and count == 1002
    assert xs[0] == 499_999 and xs[-1] == 501_000
    assert ys.tolist() == y[499_999:501_001].tolist()


def test_a_wide_zoom_is_downsampled_within_its_range():
    x = np.arange(100_000, dtype=np.float64)
    y = np.zeros(100_000)
    y[60_000] = 7.0
    xs, ys, count, sampled = downsample(x, y, 200, lo=50_000, hi=70_000)
    assert sampled and count == 20_003
    assert xs.min() >= 49_999 and xs.max() <= 70_001
    assert 7.0 in ys.tolist()


def test_a_range_with_nothing_in_it_gives_at_most_the_neighbours():
    x = np.array([0.0, 10.0, 20.0])
    y = np.array([1.0, 2.0, 3.0])
    xs, _, _, sampled = downsample(x, y, 100, lo=11, hi=12)
    assert xs.tolist() == [10.0, 20.0] and not sampled
