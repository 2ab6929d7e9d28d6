"""Legend classes that stay distinct (issue 11 item 12: "0.00 (610) / 0.00-0.01", "Quantiles, 1 classes")."""
from podgeo import legend_classes, maps


def test_piled_up_zeros_fall_back_to_distinct_classes_and_say_so():
    values = [0.0] * 600 + [0.004, 0.01, 0.02, 0.05]
    choice = legend_classes.choose(values)
    classes = maps.classify(values, scheme=choice.scheme, k=choice.k)
    assert len(set(classes.labels)) == len(classes.labels) == choice.k >= 3
    assert "600 of 604 districts are at 0" in choice.note
    assert maps.classify(values, scheme="quantiles", k=5).bins.__len__() < 5  # what quantiles alone gave


def test_one_value_says_one_class_and_spread_values_keep_quantiles():
    assert "the same value (0)" in legend_classes.choose([0.0] * 12).note
    assert legend_classes.choose(range(100)) == ("quantiles", 5, "")
