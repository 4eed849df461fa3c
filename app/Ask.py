"""Ask: a member's question, answered only from the library, every sentence cited."""

import streamlit as st
from ask_view import render_turn, sidebar_filters
from shared import page_setup

from kb.errors import KBError

kb, current = page_setup("Ask")
st.title("Ask the OH library")
st.caption(
    "Answers quote the documents in the library and cite document, section, page and date. "
    "If the library does not cover a question, it says so."
)

filters = sidebar_filters(kb)
history: list[dict] = st.session_state.setdefault("ask_history", [])
for i, turn in enumerate(history):
    render_turn(kb, i, turn)

question = st.chat_input("Ask about occupational health guidance", key="question")
if question:
    try:
        with st.spinner("Searching the library…"):
            answer = kb.ask(question, filters=filters, log=True)
    except KBError as exc:
        st.error(str(exc))
    else:
        history.append({"answer": answer})
        render_turn(kb, len(history) - 1, history[-1])
elif not history:
    st.info("Type a question below, for example: *When should HIV post-exposure prophylaxis be started?*")
