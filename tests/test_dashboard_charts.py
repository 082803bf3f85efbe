"""SVG charts are computed on the server: check the geometry on known points."""

from central.dashboard import charts


def test_polyline_spans_the_chart_area() -> None:
    points = [(0.0, 10.0), (30.0, 20.0), (60.0, 15.0)]
    coords = [tuple(map(float, p.split(","))) for p in charts.polyline(points).split()]
    left, right = charts.PAD, charts.WIDTH - charts.PAD
    top, bottom = charts.PAD, charts.HEIGHT - charts.PAD
    assert coords[0] == (left, bottom)  # first time, lowest value
    assert coords[1] == (charts.WIDTH / 2, top)  # middle time, highest value
    assert coords[2][0] == right
    assert top < coords[2][1] < bottom


def test_flat_series_is_drawn_mid_height_not_divided_by_zero() -> None:
    coords = charts.polyline([(0.0, 5.0), (10.0, 5.0)]).split()
    ys = {float(c.split(",")[1]) for c in coords}
    assert ys == {charts.HEIGHT / 2}


def test_no_points_no_line() -> None:
    assert charts.polyline([]) == ""
    assert charts.value_range([]) is None
    assert charts.value_range([(0, 3.0), (1, -1.0)]) == (-1.0, 3.0)
