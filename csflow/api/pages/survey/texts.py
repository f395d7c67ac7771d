"""The questionnaire's words, in every language it speaks (zh-CN first, the default).

Every language has every key — a test holds them to it — so no page ever falls back to
another language mid-sentence.
"""

from __future__ import annotations

LANGS = ("zh-CN", "en")

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "服务回访问卷",
        "intro": "感谢您的耐心。请告诉我们本次服务的体验，只需一分钟。",
        "number": "服务单号",
        "switch": "English",
        "score": "您对本次服务的满意度",
        "score_low": "1 = 非常不满意",
        "score_high": "5 = 非常满意",
        "nps": "您有多大可能向朋友或同事推荐我们？",
        "nps_low": "0 = 完全不可能",
        "nps_high": "10 = 非常可能",
        "praise": "您想表扬的地方（选填）",
        "suggestion": "您的建议（选填）",
        "problem": "仍然存在的问题（选填）",
        "praise_name": "表扬",
        "suggestion_name": "建议",
        "problem_name": "仍然存在的问题",
        "needs_action": "请再联系我，进一步跟进",
        "submit": "提交",
        "submit_hint": "您的评价只会在点击“提交”后记录。",
        "thanks": "感谢您的反馈！",
        "thanks_body": "我们已记录您的评价。如有需要改进的地方，我们会告诉您改进的结果。",
        "answered": "问卷已提交",
        "answered_body": "这份问卷已经有过回答，无需再次提交。感谢您的参与！",
        "stale": "问卷已失效",
        "stale_body": "该服务单已重新处理，这份问卷针对的是之前的处理结果。"
        "我们会就最终结果另行邀请您评价。",
        "closed": "问卷已关闭",
        "closed_body": "该服务单已结束，这份问卷不再接受回答。如需反馈，请联系客服。",
        "expired": "链接已过期",
        "expired_body": "该问卷链接已过期。如需反馈，请联系客服。",
        "invalid": "链接无效",
        "invalid_body": "无法识别该问卷链接，请检查链接是否完整。",
        "unavailable": "暂时无法处理",
        "unavailable_body": "系统暂时繁忙，您的回答尚未记录。请稍后再试一次。",
        "missing_score": "请选择满意度评分（1–5）。",
        "missing_nps": "请选择推荐意愿（0–10）。",
        "too_long": "“{field}”最多 {max} 个字，请精简后再提交。",
    },
    "en": {
        "title": "How did we do?",
        "intro": "Thank you for your patience. Please tell us about the service — it takes a "
        "minute.",
        "number": "Request number",
        "switch": "中文",
        "score": "How satisfied are you with the service?",
        "score_low": "1 = very dissatisfied",
        "score_high": "5 = very satisfied",
        "nps": "How likely are you to recommend us to a friend or colleague?",
        "nps_low": "0 = not at all likely",
        "nps_high": "10 = extremely likely",
        "praise": "What went well (optional)",
        "suggestion": "Your suggestions (optional)",
        "problem": "Anything still wrong (optional)",
        "praise_name": "What went well",
        "suggestion_name": "Your suggestions",
        "problem_name": "Anything still wrong",
        "needs_action": "Please contact me again about this",
        "submit": "Submit",
        "submit_hint": "Your answer is recorded only when you press Submit.",
        "thanks": "Thank you for your feedback!",
        "thanks_body": "We have recorded your answer. If something needs improving, we will "
        "tell you what we changed.",
        "answered": "Already answered",
        "answered_body": "This questionnaire has already been answered; there is nothing "
        "more to do. Thank you!",
        "stale": "This survey is no longer current",
        "stale_body": "Your request was handled again since this survey was sent, so it is "
        "about an earlier outcome. We will ask you about the final outcome.",
        "closed": "This survey is closed",
        "closed_body": "The request has been closed and this questionnaire no longer takes "
        "answers. Please contact customer service with any feedback.",
        "expired": "This link has expired",
        "expired_body": "The survey link has expired. Please contact customer service with "
        "any feedback.",
        "invalid": "Invalid link",
        "invalid_body": "We could not recognise this survey link; please check it is complete.",
        "unavailable": "Please try again shortly",
        "unavailable_body": "We could not reach our service just now, and your answer has not "
        "been recorded yet. Please try again in a moment.",
        "missing_score": "Please choose a satisfaction score (1–5).",
        "missing_nps": "Please choose how likely you are to recommend us (0–10).",
        "too_long": "“{field}” takes at most {max} characters; please shorten it.",
    },
}


def pick(lang: str | None) -> str:
    """The page's language: `en`, `en-US`… → en; anything else → the default, zh-CN."""
    if lang and lang.strip().lower().split("-")[0] == "en":
        return "en"
    return LANGS[0]
