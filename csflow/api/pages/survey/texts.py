"""The questionnaire's words, in every language it speaks (zh-CN first)."""

from __future__ import annotations

LANGS = ("zh-CN", "en")

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "服务回访问卷",
        "intro": "感谢您的耐心。请告诉我们本次服务的体验：服务单号",
        "switch": "English",
        "score": "您对本次服务的满意度（1 = 非常不满意，5 = 非常满意）",
        "score_hint": "评分只在您点击“提交”后记录。",
        "nps": "您有多大可能向朋友推荐我们？（0–10）",
        "praise": "您想表扬的地方",
        "suggestion": "您的建议",
        "problem": "仍然存在的问题",
        "needs_action": "需要我们进一步跟进",
        "submit": "提交",
        "thanks": "感谢您的反馈！",
        "thanks_body": "我们已记录您的评价。如有问题需要改进，我们会告诉您改进的结果。",
        "answered": "问卷已提交",
        "answered_body": "这份问卷已经有过回答，无需再次提交。",
        "stale": "问卷已失效",
        "stale_body": "该服务单已重新处理，我们会就最终结果另行邀请您评价。",
        "expired": "链接已过期",
        "expired_body": "该问卷链接已过期。如需反馈，请联系客服。",
        "invalid": "链接无效",
        "invalid_body": "无法识别该问卷链接，请检查链接是否完整。",
        "missing": "请选择满意度评分和推荐意愿（0–10）后再提交。",
    },
    "en": {
        "title": "How did we do?",
        "intro": "Thank you for your patience. Please tell us about the service for request",
        "switch": "中文",
        "score": "How satisfied are you with the service? (1 = very dissatisfied, 5 = very "
                 "satisfied)",
        "score_hint": "Your rating is recorded only when you press Submit.",
        "nps": "How likely are you to recommend us to a friend? (0–10)",
        "praise": "What went well",
        "suggestion": "Your suggestions",
        "problem": "Anything still wrong",
        "needs_action": "Please contact me about this",
        "submit": "Submit",
        "thanks": "Thank you for your feedback!",
        "thanks_body": "We have recorded your answer. If something needs improving, we will "
                       "tell you what we changed.",
        "answered": "Already answered",
        "answered_body": "This questionnaire has already been answered; there is nothing "
                         "more to do.",
        "stale": "This survey is no longer current",
        "stale_body": "Your request was handled again; we will ask about the final outcome.",
        "expired": "This link has expired",
        "expired_body": "The survey link has expired. Please contact customer service.",
        "invalid": "Invalid link",
        "invalid_body": "We could not recognise this survey link; please check it is complete.",
        "missing": "Please choose a satisfaction score and a 0–10 rating before submitting.",
    },
}


def pick(lang: str | None) -> str:
    return lang if lang in LANGS else LANGS[0]
