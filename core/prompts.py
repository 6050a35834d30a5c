"""Prompts that cross a service boundary: the summarizer asks the worker with them, so both read them here."""

#: The instruction before a timeline when the model writes a stream's summary (``SummarizeText``'s default).
SUMMARY_INSTRUCTION = (
    "Here is a timeline of what a camera saw. Summarize what happened in a few sentences."
)
