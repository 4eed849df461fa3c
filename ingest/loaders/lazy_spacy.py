"""`unstructured`'s text classifier, running only the spaCy components each check needs.

`unstructured` tells narrative text from titles with three spaCy views of an element's text:
tokens (`word_tokenize`), part-of-speech tags (`pos_tag`, to look for a verb) and sentences
(`sent_tokenize`, to count them). It ran the whole pipeline (tok2vec, tagger, parser) once per
element and counted sentences first, so every element paid for the dependency parser, 40% of
the pipeline's time. Here:

- each view runs only what it needs on a cached `Doc`: tokens the tokenizer, tags tok2vec and
  the tagger, sentences tok2vec and the parser. The tagger and the parser both read tok2vec's
  output from `doc.tensor` when predicting (spaCy's `Tok2VecListener`), and neither changes
  the tokens, so each view is the same as the full pipeline's;
- `exceeds_cap_ratio` and `is_possible_narrative_text` evaluate their cheap condition first:
  the sentence count only when the capital-letter test says yes, and only when no verb was
  found. Both are `and`s of pure functions, so the answer is the same.

A paragraph that contains a verb (most of them) is now tokenized, embedded and tagged, never
parsed. Profile and figures: docs/PERFORMANCE.md, change 28. `tests/ingest/test_lazy_spacy.py`
checks the views and the classifications against `unstructured`'s own on real text.

`install()` replaces `unstructured`'s functions by identity in every `unstructured` module
loaded so far; the loader calls it each time it hands out a partitioner, so modules imported
since are covered too. A pipeline other than tok2vec + tagger + parser (the blank fallback,
another model) keeps `unstructured`'s functions.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from typing import Any

_COMPONENTS = ("tok2vec", "tagger", "parser")
_CACHE_SIZE = 128  # elements are classified one after another: a few views of the same text
_CACHE_CHARS = 1 << 20  # and a budget, as Docs of long texts are large


class LazyDocs:
    """Docs of recent texts, with the components run on each so far."""

    def __init__(self, nlp: Any, size: int = _CACHE_SIZE, chars: int = _CACHE_CHARS) -> None:
        self.nlp = nlp
        self.size = size
        self.chars = chars
        self._docs: OrderedDict[str, tuple[Any, set[str]]] = OrderedDict()
        self._held = 0  # characters of the cached texts

    def doc(self, text: str, view: str | None = None) -> Any:
        """The Doc of `text` with what `view` needs: None tokens, "tagger" tags, "parser" sentences."""
        text = str(text)  # numpy.str_ from OCR pipelines, as unstructured does
        entry = self._docs.get(text)
        if entry is None:
            entry = (self.nlp.make_doc(self._within_limit(text)), set())
            self._docs[text] = entry
            self._held += len(text)
            while len(self._docs) > 1 and (len(self._docs) > self.size or self._held > self.chars):
                self._held -= len(self._docs.popitem(last=False)[0])
        else:
            self._docs.move_to_end(text)
        doc, done = entry
        if view is not None:
            for name in ("tok2vec", view):
                if name not in done:
                    doc = self.nlp.get_pipe(name)(doc)
                    done.add(name)
        return doc

    def _within_limit(self, text: str) -> str:
        """`text` cut as `unstructured` cuts it beyond spaCy's max_length (at the last space)."""
        limit = self.nlp.max_length
        if len(text) <= limit:
            return text
        cut = text.rfind(" ", max(0, limit - 256), limit)
        return text[: cut if cut != -1 else limit]


def supports(nlp: Any) -> bool:
    """Whether `nlp` is the pipeline this is exact for: tok2vec shared by the tagger and the parser."""
    if tuple(nlp.pipe_names) != _COMPONENTS:
        return False
    return set(getattr(nlp.get_pipe("tok2vec"), "listening_components", ())) >= {"tagger", "parser"}


def functions(docs: LazyDocs) -> dict[str, Any]:
    """The replacements, by the name of the function each stands in for."""
    from unstructured.partition import text_type

    def word_tokenize(text: str) -> list[str]:
        return [token.text for token in docs.doc(text)]

    def pos_tag(text: str) -> list[tuple[str, str]]:
        return [(token.text, token.tag_) for token in docs.doc(text, "tagger")]

    def sent_tokenize(text: str) -> list[str]:
        return [sent.text for sent in docs.doc(text, "parser").sents]

    def exceeds_cap_ratio(text: str, threshold: float = 0.5) -> bool:
        """`text_type.exceeds_cap_ratio` with its sentence count last."""
        if text.isupper():
            capitals = True
        else:
            tokens = [tk for tk in word_tokenize(text) if tk.isalpha()]
            capitals = not tokens or sum(w.istitle() or w.isupper() for w in tokens) / len(tokens) > threshold
        return capitals and not text_type.sentence_count(text, 3) > 1

    def is_possible_narrative_text(
        text: str,
        cap_threshold: float = 0.5,
        non_alpha_threshold: float = 0.5,
        languages: list[str] = ["eng"],  # noqa: B006 - unstructured's signature
        language_checks: bool = False,
    ) -> bool:
        """`text_type.is_possible_narrative_text` with its verb check before its sentence count."""
        env_checks = os.environ.get("UNSTRUCTURED_LANGUAGE_CHECKS")
        if env_checks is not None:
            language_checks = env_checks.lower() == "true"
        if len(text) == 0 or text.isnumeric():
            return False
        if "eng" in languages and language_checks and not text_type.contains_english_word(text):
            return False
        cap_threshold = float(os.environ.get("UNSTRUCTURED_NARRATIVE_TEXT_CAP_THRESHOLD", cap_threshold))
        if text_type.exceeds_cap_ratio(text, threshold=cap_threshold):
            return False
        non_alpha_threshold = float(
            os.environ.get("UNSTRUCTURED_NARRATIVE_TEXT_NON_ALPHA_THRESHOLD", non_alpha_threshold))
        if text_type.under_non_alpha_ratio(text, threshold=non_alpha_threshold):
            return False
        if "eng" in languages and not text_type.contains_verb(text) and text_type.sentence_count(text, 3) < 2:
            return False
        return True

    return {
        "word_tokenize": word_tokenize,
        "pos_tag": pos_tag,
        "sent_tokenize": sent_tokenize,
        "exceeds_cap_ratio": exceeds_cap_ratio,
        "is_possible_narrative_text": is_possible_narrative_text,
    }


_ORIGINALS: dict[str, Any] = {}
_INSTALLED: dict[str, Any] = {}
docs: LazyDocs | None = None  # the installed functions' cache (tests read which components ran)


def install(nlp: Any) -> bool:
    """Put the replacements in place of `unstructured`'s functions wherever they were imported.
    Returns False (and changes nothing) for a pipeline this is not exact for."""
    if not _ORIGINALS:
        from unstructured.nlp import tokenize
        from unstructured.partition import text_type

        for name in ("word_tokenize", "pos_tag", "sent_tokenize"):
            _ORIGINALS[name] = getattr(tokenize, name)
        for name in ("exceeds_cap_ratio", "is_possible_narrative_text"):
            _ORIGINALS[name] = getattr(text_type, name)
    global docs
    if not _INSTALLED:
        if not supports(nlp):
            return False
        docs = LazyDocs(nlp)
        _INSTALLED.update(functions(docs))
    _swap(_ORIGINALS, _INSTALLED, skip=_SWAPPED)  # modules imported since the last call (~0.8 ms for all)
    return True


_SWAPPED: set[str] = set()  # modules that hold the replacements already


def restore() -> None:
    """Put `unstructured`'s own functions back (`install` puts these back again)."""
    if _INSTALLED:
        _swap(_INSTALLED, _ORIGINALS)
        _SWAPPED.clear()


def _swap(old: dict[str, Any], new: dict[str, Any], skip: set[str] | None = None) -> None:
    """In every loaded `unstructured` module, replace each function of `old` by the one of the
    same name in `new`, where the module holds it under that name. With `skip`: not in the
    modules named there, and add the others to it."""
    by_id = {id(fn): name for name, fn in old.items()}
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("unstructured."):
            continue
        if skip is not None:
            if module_name in skip:
                continue
            skip.add(module_name)
        for attr, value in list(vars(module).items()):
            name = by_id.get(id(value))
            if name is not None and attr == name:
                setattr(module, attr, new[name])
