"""An in-process fake of the `kb.llm.LLM` interface, shared by the answer and conversation tests."""


class ScriptedLLM:
    """The LLM interface (`chat`, `stream`) with queued replies, recording what it was sent."""

    name = "scripted"

    def __init__(self, *replies):
        self.replies = list(replies)
        self.history = []

    def enqueue(self, reply):
        self.replies.append(reply)

    def chat(self, messages):
        self.history.append(messages)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def stream(self, messages):
        text = self.chat(messages)
        yield from (text[i : i + 7] for i in range(0, len(text), 7))
