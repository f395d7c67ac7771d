"""The default emotion lexicon (zh-CN and en): words of an upset customer, or one
threatening to take it further. The policy's `[intake.emotion]` replaces either list."""

DEFAULT_ZH: tuple[str, ...] = (
    "投诉", "愤怒", "生气", "气死", "失望", "太差", "垃圾", "骗子", "欺骗", "退钱", "曝光",
    "315", "消协", "工商", "监管", "律师", "起诉", "举报", "忍无可忍", "不可理喻", "坑人",
)
DEFAULT_EN: tuple[str, ...] = (
    "angry", "furious", "disappointed", "terrible", "unacceptable", "scam", "refund now",
    "lawyer", "sue", "regulator", "complain to", "worst", "ridiculous", "fed up", "disgusted",
    "outraged",
)
