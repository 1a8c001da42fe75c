"""Why a raw record did not become a pair: every reason ``rejects/`` and ``manifest.json`` can show."""

from __future__ import annotations

REASONS: dict[str, str] = {
    # reading
    "invalid_utf8": "the line is not valid UTF-8 (raw shows the bytes as \\xNN escapes)",
    "malformed_json": "the record is not valid JSON (e.g. a truncated line)",
    "malformed_record": "valid JSON but not an object, or a CSV row with the wrong number of cells",
    "damaged_file": "a compressed file ends early or is damaged: the records before the damage are read, the rest is this one reject",
    # fields
    "missing_field": "a field the shape needs is absent or null",
    "empty_field": "a prompt or response (or one of its turns) is empty or whitespace",
    "non_text_content": "a JSON boolean, number, list or object (or a non-text content part) where text belongs",
    "serialized_messages": "a turn's text is a message list written out as text (a CSV cell holding `[{'role': ..., 'content': ...}]`): decode it before building",
    "wrong_type": "a field has the wrong structure (e.g. a string where a list of messages belongs, a non-numeric score)",
    "unknown_role": "a turn's role maps to none of system/user/assistant/tool (add it under `roles:`)",
    "bad_turn_order": "the prompt does not end with a user or tool turn, or a response holds a non-assistant turn",
    "filtered_out": "excluded by a source's `filters`",
    # shape rules
    "malformed_transcript": "a transcript without turn markers, with text before the first marker, or not ending with an assistant turn",
    "transcripts_diverge": "chosen and rejected dialogues differ before their final assistant turn",
    "tie": "the verdict (or the two scores of a pair) is a tie (ties are never paired)",
    "scores_disagree": "the chosen response scores lower than the rejected one (see `scores_must_agree`)",
    "both_bad": "the verdict says both responses are bad",
    "no_majority": "annotators do not agree on a winner",
    "unknown_verdict": "the winner value is none of the configured values (see `winner_values`)",
    "below_margin": "no two completions differ by at least `min_margin` (or all scores tie)",
    "too_few_completions": "fewer than two usable completions",
    "unpaired": "feedback with no opposite vote on the same prompt (see the KTO export)",
    "duplicate_record": "unpaired feedback with the same prompt, response and label as an earlier one (the first is kept)",
    "no_ranked_replies": "a tree with no message that has two or more ranked replies",
    "dropped_by_function": "a custom shape function returned no row for the record",
    # pair rules
    "identical_responses": "chosen and rejected are the same text",
    "duplicate_pair": "the same prompt/chosen/rejected as an earlier record (the first is kept)",
}


def describe(reason: str) -> str:
    return REASONS.get(reason, reason)
