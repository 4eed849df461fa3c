"""De-hyphenation and de-kerning decisions."""

from __future__ import annotations

from ingest.loaders.word_repair import Vocabulary, join_lines, repair_kerning, unknown_word_count


def _vocab(*texts: str) -> Vocabulary:
    return Vocabulary.from_texts(texts)


def test_line_end_hyphen_is_removed_for_a_known_word() -> None:
    vocab = _vocab("immunisation is offered")
    assert join_lines(["check your immuni-", "sation status"], vocab) == "check your immunisation status"


def test_real_compounds_keep_their_hyphen() -> None:
    vocab = _vocab("post-exposure prophylaxis and post-exposure testing")
    assert join_lines(["give post-", "exposure prophylaxis"], vocab) == "give post-exposure prophylaxis"
    assert join_lines(["test for anti-", "HBs levels"], _vocab("")) == "test for anti-HBs levels"


def test_unknown_joins_keep_the_hyphen() -> None:
    assert join_lines(["the zorg-", "blat method"], _vocab("")) == "the zorg-blat method"


def test_soft_hyphen_and_wrapped_url() -> None:
    vocab = _vocab("")
    assert join_lines(["in their work\u00ad", "place"], vocab) == "in their workplace"
    assert join_lines(["see https://www.gov.uk/guidance/", "hepatitis-b"], vocab) == (
        "see https://www.gov.uk/guidance/hepatitis-b"
    )


def test_kerning_splits_merge_when_the_document_knows_the_word() -> None:
    vocab = _vocab("employed staff have specific duties; employers must act")
    text, merges = repair_kerning("the self-emplo yed ha ve specif ic duties", vocab)
    assert text == "the self-employed have specific duties"
    assert merges == 3


def test_real_word_pairs_are_kept() -> None:
    vocab = _vocab("below the area anyone maybe")
    text, merges = repair_kerning("it should be low in any one are a that may be", vocab)
    assert merges == 0
    assert text == "it should be low in any one are a that may be"


def test_citations_and_numbers_are_not_merged() -> None:
    vocab = _vocab("market fetal")
    assert repair_kerning("Mark et al. (2020)", vocab)[0] == "Mark et al. (2020)"
    assert repair_kerning("5 ml of vaccine", _vocab("5ml"))[0] == "5 ml of vaccine"


def test_layout_reference_decides_pairs_of_real_words() -> None:
    vocab = _vocab("wit hin the ward")
    vocab.add_reference("within the ward, which is below the line; the level should be low")
    assert repair_kerning("wit hin the ward", vocab)[0] == "within the ward"
    assert repair_kerning("should be low", vocab)[0] == "should be low"


def test_unknown_word_count() -> None:
    assert unknown_word_count("emplo yers and staf f") >= 2
    assert unknown_word_count("employers and staff") == 0
