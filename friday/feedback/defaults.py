"""The two surveys every business starts with: NPS (0–10) and CSAT (1–5). Plain data, shared by the data
migration that adds them and by `survey_defaults_install` (which puts back any that are missing)."""

DEFAULT_SURVEYS = [
    {
        "key": "nps",
        "name": "Would you recommend us?",
        "kind": "nps",
        "question": "How likely are you to recommend us to a friend or colleague?",
        "comment_prompt": "What is the main reason for your score? (optional)",
        "active": True,
        "valid_days": 14,
        "template_key": "feedback_request",
    },
    {
        "key": "csat",
        "name": "How did we do?",
        "kind": "csat",
        "question": "How satisfied are you with the work we did for you?",
        "comment_prompt": "Anything we could have done better? (optional)",
        "active": True,
        "valid_days": 14,
        "template_key": "feedback_request",
    },
]
