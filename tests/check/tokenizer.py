"""A local tokenizer for the TRL truncation checks, with a template that shows two real traps.

The chat template emits BOS and then renders system content right after it (as Llama-2-style
templates do), and writes the assistant marker as text, ``Assistant:``, with the response glued to
it. So a system prompt that starts with a literal ``<s>`` (special tokens leaking from raw logs)
gives a doubled BOS, and a response starting with ``::`` merges with the marker's colon into one
BPE token, breaking the prompt-is-a-prefix property TRL relies on. The BPE is trained with plenty of
``::`` so that merge exists (the tests assert it).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.tiny_model import train_tokenizer

TEMPLATE = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] + '\n' }}"
    "{% elif m['role'] == 'user' %}{{ 'User: ' + m['content'] + '\n' }}"
    "{% elif m['role'] == 'tool' %}{{ 'Tool: ' + m['content'] + '\n' }}"
    "{% else %}{{ 'Assistant:' + m['content'] + '\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
CPP = "std::vector std::map a::b ns::f::g ::std::string " * 20


def save_tokenizer(texts: list[str], out: Path) -> Path:
    tok = train_tokenizer(texts + [CPP] * 50)
    tok.chat_template = TEMPLATE
    tok.save_pretrained(out)
    return out
