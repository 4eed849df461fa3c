"""Ask: a member's question, answered only from the library, every sentence cited.

Questions form a conversation: a follow-up is rewritten into a standalone question from the
earlier turns (shown as "Searched for: …"), and the conversation is kept in the catalog
under its id in the URL (`?c=…`), so it survives a reload.
"""

import streamlit as st
from ask_view import render_turn, sidebar_filters
from conversation_view import ask_in_conversation, load_conversation, sidebar_conversations, turn_actions
from shared import page_setup

kb, current = page_setup("Ask")
st.title("Ask the OH library")
st.caption(
    "Answers quote the documents in the library and cite document, section, page and date. "
    "If the library does not cover a question, it says so. Follow-up questions are answered "
    "in the context of the conversation."
)

conversations = st.sidebar.container()  # filled last, so a conversation started below is listed at once
filters = sidebar_filters(kb)
history = load_conversation(kb, current)


def _actions(i: int, turn: dict) -> None:
    turn_actions(kb, current, i, turn, filters)


for i, turn in enumerate(history):
    render_turn(kb, i, turn, _actions)

question = st.chat_input("Ask about occupational health guidance", key="question")
if question:
    turn = ask_in_conversation(kb, current, question, filters)
    if turn is not None and kb.settings.llm != "none":
        st.rerun()  # the streamed draft above is replaced by the verified answer
    elif turn is not None:
        # Drawn in place: a second run of the whole page (st.rerun) cost about 0.9 s per answer
        # in the browser (evals/bench/app.py). The next run draws it with the history, same keys.
        render_turn(kb, len(history) - 1, turn, _actions)
elif not history:
    st.info("Type a question below, for example: *When should HIV post-exposure prophylaxis be started?*")
sidebar_conversations(kb, current, conversations)
