import math
from pathlib import Path

import pocketsphinx
import pytest

from processors.language_model import (
    arpa_model,
    corpus,
    english_reading,
    number_words,
    read_digits,
    recogniser_model,
    spell_numbers,
    weighted_corpus,
    word_errors,
    words_of,
)


def test_words_of_spells_numerals_as_espeak_reads_them():
    assert words_of("is 7 pm on sunday available for 6?") == (
        "is seven pm on sunday available for six".split()
    )
    assert words_of("the 15th at 7:30, code H X 7 K 3 P") == (
        "the fifteenth at seven thirty code h x seven k three p".split()
    )
    assert spell_numbers("the 21st or 22nd").split() == "the twenty first or twenty second".split()
    assert number_words(115) == "one hundred fifteen"
    assert number_words(43210) == "forty three thousand two hundred ten"
    assert word_errors("a table for 2 at 8 pm", "a table for two at eight pm") == 0


def test_phone_numbers_are_read_digit_by_digit():
    spaced = "it's 9 8 7 6 5 4 3 2 1 0, for 2 at 1230"
    assert read_digits("it's 98765 43210, for 2 at 1230") == spaced
    assert words_of("98450 12345") == "nine eight four five zero one two three four five".split()


def test_corpus_covers_spelled_codes_party_sizes_and_short_answers():
    sentences = set(corpus(["Himalayan Kitchen"]))
    text = "\n".join(sentences)

    codes = [s.split(" code is ", 1)[1].split() for s in sentences if " code is " in s]
    assert codes
    assert all(len(code) == 6 for code in codes)
    symbols = {w for code in codes for w in code}
    assert set("acefhjklmnprtwxy") | {"three", "four", "six", "seven", "nine"} <= symbols
    for letter in "hxkmptr":
        assert f" {letter} " in text, letter
    for expected in [
        "we are six",
        "no thanks bye",
        "that's all thank you",
        "yes go ahead",
        "next friday",
        "half past eight",
        "what are your timings",
        "my name is joseph",
        "it's under iqbal",
    ]:
        assert expected in text, expected


def test_corpus_weighs_templates_alike():
    weights = weighted_corpus(["Himalayan Kitchen"])

    # A short answer weighs as much as all the expansions of a booking request together.
    requests = [w for s, w in weights.items() if s.startswith("a table for ")]
    assert weights["no"] > max(requests) * 5
    assert weights["no"] > sum(requests) / 10


def test_arpa_model_loads_in_pocketsphinx(tmp_path: Path):
    arpa = arpa_model({"yes please": 2.0, "no thanks": 1.0, "yes": 1.0}, order=3)
    path = tmp_path / "tiny.arpa"
    path.write_text(arpa, encoding="utf-8")

    pocketsphinx.NGramModel(pocketsphinx.Config(), pocketsphinx.LogMath(), str(path))

    assert "ngram 3=" in arpa
    # P(please | yes) = 0.9 * 2/3: the discount, 0.1, is left for the back-off.
    assert f"{math.log10(0.9 * 2 / 3):.4f} yes please " in arpa


def test_model_has_pronunciations_for_its_words():
    model = recogniser_model(["Himalayan Kitchen"])

    lines = Path(model.dict_path).read_text(encoding="utf-8").splitlines()
    assert {"h", "x", "k", "timings", "farhan", "joseph"} <= model.words
    assert any(line.startswith("x ") for line in lines)


@pytest.mark.parametrize(
    ("topic", "answer", "other"),
    [
        ("party", "we are six", "anil"),
        ("date", "on thursday", "anil"),
        ("name", "anil", "we are six"),
        ("yes_no", "that's right", "we are six"),
        ("code", "k four m", "thursday"),
    ],
)
def test_a_topic_model_expects_its_answers_more_and_others_less(topic, answer, other):
    config, logmath = pocketsphinx.Config(), pocketsphinx.LogMath()

    def score(model_topic: str | None, text: str) -> int:
        model = recogniser_model(("dosa",), (), model_topic)
        return pocketsphinx.NGramModel(config, logmath, model.lm_path).prob(text.split())

    assert score(topic, answer) > score(None, answer)
    assert score(topic, other) < score(None, other)
    assert recogniser_model(("dosa",), (), topic).dict_path == recogniser_model(("dosa",)).dict_path
    assert recogniser_model(("dosa",), (), "time") == recogniser_model(("dosa",), (), "date")


def test_names_also_have_their_plain_english_reading():
    assert english_reading("anil") == "AE N IH L"
    assert english_reading("sunita") == "S Y UW N IY T AH"
    model = recogniser_model((), ("Zubin",))
    lines = Path(model.dict_path).read_text().splitlines()
    anil = [line.split(" ", 1)[1] for line in lines if line.split(" ")[0].startswith("anil")]
    assert "AE N IH L" in anil and len(anil) == len(set(anil)) >= 2
    assert any(line.startswith("zubin") and "Z Y UW B IH N" in line for line in lines)
    # English words keep their CMUdict pronunciations only.
    assert [line for line in lines if line.split(" ")[0] == "table"] == ["table T EY B AH L"]
