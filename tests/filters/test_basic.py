from filters.basic import BasicThresholds, basic_failure

T = BasicThresholds()


def test_thresholds_are_inclusive_keeps():
    assert basic_failure(1000, 100.0, 0.25, T) is None


def test_each_rule_just_over():
    assert basic_failure(1001, 10, 0.5, T) == ("max_line_length", 1001, 1000)
    assert basic_failure(100, 100.01, 0.5, T) == ("avg_line_length", 100.01, 100.0)
    assert basic_failure(100, 10, 0.2499, T) == ("alphanum_fraction", 0.2499, 0.25)


def test_first_failing_rule_is_reported():
    assert basic_failure(5000, 500, 0.1, T)[0] == "max_line_length"
