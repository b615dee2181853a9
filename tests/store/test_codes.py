import pytest

from store.codes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    MAX_NEAR_DISTANCE,
    nearest_code,
    new_code,
    spoken_distance,
)


def test_new_codes_are_six_symbols_of_the_alphabet_and_differ():
    codes = {new_code() for _ in range(200)}
    assert len(codes) > 190
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)


@pytest.mark.parametrize(
    ("heard", "code", "distance"),
    [
        ("HX7K3P", "HX7K3P", 0.0),
        ("hx 7k3p", "HX7K3P", 0.0),  # case and spaces are not heard
        ("HX7K3T", "HX7K3P", 0.5),  # "tee" for "pee"
        ("HH7K3T", "HX7K3P", 1.0),  # "aitch" for "eks", "tee" for "pee"
        ("7MMP4", "7MNP4X", 1.0),  # "em" for "en", the last symbol not heard
        ("K4M7T", "K4M7TE", 0.5),  # "tee ee" heard as one "tee"
        ("HA7K3P", "HX7K3P", 1.0),  # one symbol wrong, not a sound-alike
        ("X7K3P", "HX7K3P", 1.0),  # the first symbol dropped
        ("HXX7K3P", "HX7K3P", 1.0),  # a symbol added
        ("TN4M9W", "HX7K3P", 6.0),
    ],
)
def test_spoken_distance_weighs_sound_alikes_at_half(heard, code, distance):
    assert spoken_distance(heard, code) == distance


def test_nearest_code_takes_the_one_code_near_enough():
    codes = ["HX7K3P", "TN4M9W", "7MNP4X"]
    assert nearest_code("HH7K3T", codes) == "HX7K3P"
    assert nearest_code("7MMP4", codes) == "7MNP4X"
    assert nearest_code("K4M7TR", codes) is None  # near nothing
    assert nearest_code("", codes) is None
    assert nearest_code("HH7K3T", []) is None


def test_nearest_code_refuses_a_tie_and_a_code_heard_too_short():
    # "HX7K3T" is half a confusion from both: the caller has to say it again.
    assert spoken_distance("HX7K3T", "HX7K3P") == spoken_distance("HX7K3T", "HX7K3C")
    assert nearest_code("HX7K3T", ["HX7K3P", "HX7K3C"]) is None
    # Fewer than four symbols are not matched at all; four match the one code they begin.
    assert spoken_distance("HX7", "HX7K3P") <= MAX_NEAR_DISTANCE + 0.5
    assert nearest_code("HX7", ["HX7K3P"]) is None
    assert nearest_code("HX7K", ["HX7K3P"]) == "HX7K3P"
