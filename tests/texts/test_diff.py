"""The plan's versions word by word: removed words struck, added ones marked, all escaped."""

from texts.diff import word_diff


def test_words_removed_and_added_are_marked_after_escaping():
    before, after = word_diff("Deux jardins <b>rue</b> Garon.", "Deux jardins en bacs, rue Garon.")
    assert str(before) == "Deux jardins <del>&lt;b&gt;rue&lt;/b&gt;</del> Garon."
    assert str(after) == "Deux jardins <ins>en bacs, rue</ins> Garon."


def test_the_same_text_has_no_mark_and_keeps_its_line_breaks():
    before, after = word_diff("Un plan\n\nen deux", "Un plan\n\nen deux")
    assert before == after == "Un plan\n\nen deux"
