"""The Ask page's conversation: kept per user in the catalog, its id in the URL (`?c=…`).

Each turn is a dict in `st.session_state["ask_history"]`: the question as typed, the
standalone question that was searched (`kb.conversation.condense`), and the Answer.
"""

from __future__ import annotations

import streamlit as st
from library_view import prefetch_cited_pages

from kb.conversation import Rewrite, Turn, condense, title_for
from kb.errors import KBError
from kb.records import Answer, SearchFilters

HISTORY = "ask_history"
LOADED = "ask_conversation"
EDITING = "ask_editing"
DRAFT = "ask_draft"  # the model's streamed draft of the latest answer, before verification


def user_key(current) -> str:
    """Whose conversations these are: the signed-in user, else everyone at this machine."""
    return current.user or "local"


def _llm(kb):
    if "ask_llm" not in st.session_state:
        from kb.llm import open_llm

        try:
            st.session_state["ask_llm"] = open_llm(kb.settings)
        except KBError:
            st.session_state["ask_llm"] = None
    return st.session_state["ask_llm"]


def load_conversation(kb, current) -> list[dict]:
    """The turns of the conversation named in the URL (if it is this user's), else a new one."""
    conv_id = st.query_params.get("c")
    history: list[dict] = st.session_state.setdefault(HISTORY, [])
    if st.session_state.get(LOADED) == conv_id:
        return history
    history.clear()
    st.session_state[LOADED] = conv_id
    if not conv_id:
        return history
    if kb.catalog.conversation_owner(conv_id) != user_key(current):
        st.warning("That conversation was not found for you. Starting a new one.")
        del st.query_params["c"]
        st.session_state[LOADED] = None
        return history
    for row in kb.catalog.turns(conv_id):
        history.append({
            "turn_no": row["turn_no"],
            "question": row["question"],
            "standalone": row["standalone"],
            "rewrite": row["rewrite"],
            "answer": Answer.model_validate_json(row["record"]),
        })
    return history


def _previous(history: list[dict]) -> list[Turn]:
    return [Turn(t["question"], t["standalone"], t["answer"].answer) for t in history]


def ask_in_conversation(kb, current, question: str, filters: SearchFilters,
                        replace: int | None = None) -> dict | None:
    """Answer `question` in the context of the earlier turns and store the turn.

    `replace=i` re-asks turn i in place ("ask again"); otherwise the turn is appended."""
    history: list[dict] = st.session_state[HISTORY]
    earlier = history[:replace] if replace is not None else history
    rewrite: Rewrite = condense(question, _previous(earlier), _llm(kb))
    on_token = stream_draft(question) if kb.settings.llm != "none" else None
    try:
        with st.spinner("Searching the library…"):
            answer = kb.ask(rewrite.standalone, filters=filters, log=True, on_token=on_token)
    except KBError as exc:
        st.error(str(exc))
        return None
    prefetch_cited_pages(kb, answer)
    conv_id = st.query_params.get("c")
    if not conv_id:
        conv_id = kb.catalog.start_conversation(user_key(current), title_for(question))
        st.query_params["c"] = conv_id
        st.session_state[LOADED] = conv_id
    turn_no = history[replace]["turn_no"] if replace is not None else None
    turn_no = kb.catalog.add_turn(conv_id, question, rewrite.standalone, rewrite.method,
                                  answer.model_dump_json(), answer.id, turn_no=turn_no)
    turn = {"turn_no": turn_no, "question": question, "standalone": rewrite.standalone,
            "rewrite": rewrite.method, "answer": answer}
    if replace is not None:
        history[replace] = turn
    else:
        history.append(turn)
    return turn


def stream_draft(question: str):
    """An `on_token` that writes the model's draft into a placeholder as it streams.

    The draft is shown as plain text (never Markdown or HTML: it is unverified model output),
    under a note that it is being checked. When the answer is complete the page reruns and the
    turn is drawn from the verified answer, which replaces the draft."""
    st.session_state[DRAFT] = ""
    with st.chat_message("user", avatar=":material/person:"):
        st.text(question)
    with st.chat_message("assistant", avatar=":material/menu_book:"):
        st.caption("The model is writing a draft. Each sentence is checked against its sources "
                   "when the draft is complete; unsupported sentences are removed.")
        box = st.empty()

    def on_token(token: str) -> None:
        st.session_state[DRAFT] += token
        box.text(st.session_state[DRAFT] + " ▍")

    return on_token


def edit_and_resend(kb, current, i: int, question: str, filters: SearchFilters) -> None:
    """Branch the conversation at turn i: forget it and the later turns, then ask anew."""
    history: list[dict] = st.session_state[HISTORY]
    conv_id = st.query_params.get("c")
    if conv_id:
        kb.catalog.drop_turns_from(conv_id, history[i]["turn_no"])
    del history[i:]
    ask_in_conversation(kb, current, question, filters)


def new_conversation() -> None:
    st.query_params.pop("c", None)
    st.session_state[HISTORY] = []
    st.session_state[LOADED] = None
    st.session_state.pop(EDITING, None)


def sidebar_conversations(kb, current, where=None) -> None:
    """"New conversation" and the user's past conversations (newest first), in `where` (a
    sidebar container) or at the end of the sidebar."""
    with where if where is not None else st.sidebar:
        st.subheader("Conversations")
        if st.button("New conversation", key="new_conversation", icon=":material/add:"):
            new_conversation()
            st.rerun()
        active = st.query_params.get("c")
        past = kb.catalog.conversations(user_key(current), limit=20)
        if not past:
            st.caption("Your conversations are kept here.")
        for row in past:
            label = f"{row['title']} ({row['turns']})"
            if st.button(label, key=f"conv_{row['conversation_id']}", type="tertiary",
                         disabled=row["conversation_id"] == active,
                         help="The conversation you are in" if row["conversation_id"] == active else None):
                new_conversation()
                st.query_params["c"] = row["conversation_id"]
                st.rerun()


def turn_actions(kb, current, i: int, turn: dict, filters: SearchFilters) -> None:
    """Copy answer, edit and resend, ask again: under each answer."""
    answer: Answer = turn["answer"]
    cols = st.columns([1, 1, 1, 3])
    with cols[0].popover("Copy answer", icon=":material/content_copy:"):
        st.caption("Use the copy button at the top right of the box.")
        st.code(answer.answer, language=None, wrap_lines=True)
    if cols[1].button("Edit and resend", key=f"edit_{i}", icon=":material/edit:"):
        st.session_state[EDITING] = i
        st.rerun()
    if cols[2].button("Ask again", key=f"again_{i}", icon=":material/refresh:"):
        ask_in_conversation(kb, current, turn["question"], filters, replace=i)
        st.rerun()
    if st.session_state.get(EDITING) == i:
        with st.form(f"edit_form_{i}"):
            text = st.text_area("Edit your question", value=turn["question"], key=f"edit_text_{i}")
            send, cancel = st.columns(2)
            resend = send.form_submit_button("Resend", type="primary")
            stop = cancel.form_submit_button("Cancel")
        if resend and text.strip():
            st.session_state.pop(EDITING, None)
            edit_and_resend(kb, current, i, text.strip(), filters)
            st.rerun()
        if stop:
            st.session_state.pop(EDITING, None)
            st.rerun()
