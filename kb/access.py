"""Who sees which documents: the signed-in user turned into store filters.

Every surface (search, ask, the Library list, a document and its passages, citation
links, downloads, bulletin suggestions) goes through these functions, so the audience
condition is part of the store query (`SearchFilters.audience` -> `PointFilter.audience`)
rather than a filter applied to results afterwards.

- Local mode (sign-in off): the person at the machine is a member; no audience limit.
- Sign-in on: any signed-in role sees members' and public documents; an anonymous
  visitor sees `audience: public` documents only.

>>> from kb.auth import AuthConfig, Session
>>> audience_for(Session(), AuthConfig(require_login=True))
['public']
>>> audience_for(Session("mo", "member"), AuthConfig(require_login=True))
[]
"""

from __future__ import annotations

from collections.abc import Iterable

from kb.auth import AuthConfig, Session
from kb.errors import KBError
from kb.records import Chunk, Document, SearchFilters
from kb.store import PointFilter

PUBLIC = "public"


def audience_for(session: Session | None, config: AuthConfig) -> list[str]:
    """Audiences this user may receive; [] means no limit (every audience)."""
    if config.local_mode:
        return []
    if session is not None and session.may("read_members"):
        return []
    return [PUBLIC]


def filters_for(session: Session | None, config: AuthConfig, filters: SearchFilters | None = None) -> SearchFilters:
    """`filters` narrowed to what this user may see. A requested audience outside that is dropped."""
    filters = filters or SearchFilters()
    allowed = audience_for(session, config)
    if not allowed:
        return filters
    wanted = [a for a in filters.audience if a in allowed] or list(allowed)
    return filters.model_copy(update={"audience": wanted})


def may_see(document: Document, session: Session | None, config: AuthConfig) -> bool:
    allowed = audience_for(session, config)
    return not allowed or document.audience in allowed


def documents_for(kb, session: Session | None, config: AuthConfig,
                  statuses: Iterable[str] | None = None) -> list[Document]:
    """The Library's document list for this user."""
    return [d for d in kb.documents(statuses=statuses) if may_see(d, session, config)]


def document_for(kb, session: Session | None, config: AuthConfig, doc_id: str) -> Document:
    """One document, or the same "no document" error as for an unknown id (nothing leaks)."""
    doc = kb.catalog.get(doc_id)
    if doc is None or not may_see(doc, session, config):
        raise KBError(f"No document with id {doc_id!r}. Run `kb docs list` to see the ids.")
    return doc


def chunks_for(kb, session: Session | None, config: AuthConfig, doc_id: str) -> list[Chunk]:
    """A document's live passages, with the audience condition in the store query."""
    from kb.retrieval import chunk_from_payload

    doc = document_for(kb, session, config, doc_id)
    where = PointFilter(doc_ids=(doc_id,), versions=(doc.version,),
                        audience=tuple(audience_for(session, config)))
    return sorted((chunk_from_payload(p.payload) for p in kb.store.scroll(where)), key=lambda c: c.ordinal)


def ask_as(kb, session: Session | None, config: AuthConfig, question: str,
           filters: SearchFilters | None = None, channel: str = "app", **ask_options):
    """The one way to answer a user: audience filters, identifier screening, then the audit record.

    Patient identifiers are redacted from the question before it is searched, sent to an
    LLM or logged; the answer carries the warning. Returns the Answer with its audit id.
    """
    from kb.audit import record_answer
    from kb.pii import pii_warnings, redact

    narrowed = filters_for(session, config, filters)
    warnings = pii_warnings(question)
    asked = redact(question) if warnings else question
    result = kb.ask(asked, filters=narrowed, log=False, **ask_options)
    if warnings:
        result = result.model_copy(update={"warnings": warnings + list(result.warnings)})
    user = session.user if session is not None and session.signed_in else None
    role = session.role if user else None
    answer_id = record_answer(kb.catalog, result, user, role, narrowed, kb.settings, channel,
                              question=question)
    return result.model_copy(update={"id": answer_id})


def search_as(kb, session: Session | None, config: AuthConfig, query: str, k: int | None = None,
              filters: SearchFilters | None = None, **options):
    """Search with the user's audience in the store query."""
    return kb.search(query, k=k, filters=filters_for(session, config, filters), **options)


def cli_session(settings) -> tuple[Session, AuthConfig]:
    """The CLI user: the operating-system account at the machine, as a member, in local mode."""
    import getpass

    return Session(getpass.getuser(), "member"), AuthConfig()


class _AudienceCatalog:
    """The catalog as a user sees it: `get` and `documents` hide documents outside the audience."""

    def __init__(self, catalog, session: Session | None, config: AuthConfig) -> None:
        self._catalog, self._session, self._config = catalog, session, config

    def get(self, doc_id: str) -> Document | None:
        doc = self._catalog.get(doc_id)
        return doc if doc is not None and may_see(doc, self._session, self._config) else None

    def documents(self, statuses: Iterable[str] | None = None) -> list[Document]:
        return [d for d in self._catalog.documents(statuses) if may_see(d, self._session, self._config)]

    def __getattr__(self, name: str):
        return getattr(self._catalog, name)


class _AudienceRetriever:
    def __init__(self, retriever, session: Session | None, config: AuthConfig) -> None:
        self._retriever, self._session, self._config = retriever, session, config

    def search(self, query, k, filters=None, mode="hybrid", **options):
        return self._retriever.search(query, k, filters_for(self._session, self._config, filters), mode, **options)

    def __getattr__(self, name: str):
        return getattr(self._retriever, name)


class AudienceView:
    """The knowledge base as one user sees it; the app's pages get this, never the bare KB.

    `search`, `ask`, `documents`, `document`, `chunks`, `catalog.get` and `retriever.search`
    (bulletin suggestions) all carry the user's audience into the store query. `ask` is
    `ask_as`: identifiers are redacted and the answer is recorded for audit.
    """

    def __init__(self, kb, session: Session | None, config: AuthConfig, channel: str = "app") -> None:
        self.kb, self.session, self.config, self.channel = kb, session, config, channel
        self.catalog = _AudienceCatalog(kb.catalog, session, config)

    @property
    def retriever(self) -> _AudienceRetriever:
        return _AudienceRetriever(self.kb.retriever, self.session, self.config)

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None, **options):
        return search_as(self.kb, self.session, self.config, query, k, filters, **options)

    def ask(self, question: str, filters: SearchFilters | None = None, **options):
        options.pop("log", None)  # always recorded
        return ask_as(self.kb, self.session, self.config, question, filters, self.channel, **options)

    def documents(self, statuses: Iterable[str] | None = None) -> list[Document]:
        return documents_for(self.kb, self.session, self.config, statuses)

    def document(self, doc_id: str) -> Document:
        return document_for(self.kb, self.session, self.config, doc_id)

    def chunks(self, doc_id: str) -> list[Chunk]:
        return chunks_for(self.kb, self.session, self.config, doc_id)

    def __getattr__(self, name: str):  # settings, embedder, store, link_for, stats ...
        return getattr(self.kb, name)
