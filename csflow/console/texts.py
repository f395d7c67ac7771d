"""The console's words in zh-CN and en; every language has every key (a test holds them).

The language is the signed-in person's choice, kept in a cookie; without one the
browser's Accept-Language decides, and anything but English falls back to zh-CN.
"""

from __future__ import annotations

from csflow.domain.lifecycle import Command

LANGS = ("zh-CN", "en")
COOKIE = "csflow_lang"

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "console": "工作台", "my_queue": "我的队列", "team_queue": "团队队列",
        "switch": "English", "sign_out": "退出", "signed_in_as": "当前用户",
        "updated": "已更新", "live": "实时", "filter": "筛选", "reset": "清除",
        "status": "状态", "priority": "优先级", "category": "类别", "channel": "渠道",
        "flags": "标记", "any": "全部", "number": "服务单号", "assignee": "处理人",
        "sla": "SLA", "next_deadline": "下一截止", "time_left": "剩余时间",
        "received": "受理时间", "none": "无", "empty_queue": "没有符合条件的服务单。",
        "shown_of": "显示 {shown} / 共 {total} 条，按截止时间排序",
        "overdue": "已超时", "paused": "已暂停", "satisfied": "已达成", "stopped": "已停止",
        "intake": "受理信息", "customer": "客户", "customer_id": "客户编号",
        "tier": "客户等级", "contact": "联系方式", "description": "问题描述",
        "masked": "已隐藏", "reveal": "查看客户信息", "purpose": "查看原因（选填）",
        "reveal_audited": "每次查看都会记录查看人和时间。",
        "no_personal_right": "您的角色无权查看客户个人信息。",
        "erased": "客户信息已按要求删除",
        "timeline": "处理记录", "clocks": "时限", "clock": "时限", "due": "截止",
        "ladder": "升级阶梯", "ladder_fired": "已执行", "ladder_after": "超时后",
        "plan": "处理方案", "measures": "措施", "owner": "负责人", "eta": "预计完成",
        "no_plan": "尚未提交方案。", "compensation": "补偿", "no_compensation": "无补偿。",
        "follow_up": "回访", "no_follow_up": "尚未安排回访。", "score": "满意度",
        "improvements": "改进任务", "no_improvements": "无改进任务。",
        "actions": "操作", "no_actions": "您的角色不能对该服务单执行任何操作。",
        "send": "提交", "phrases": "标准话术", "phrases_hint": "点击插入到文本框",
        "script_hint": "通话话术，按顺序使用",
        "phrases_version": "话术版本", "upset": "客户情绪激动：请先安抚",
        "sent": "已完成：{what}", "refused": "未执行", "back": "返回队列",
        "not_found": "没有这个服务单。", "department": "部门", "flag_delayed": "已延误",
        "flag_awaiting": "等待客户", "flag_soothe": "需安抚", "flag_repeat": "重复投诉",
        "flag_escalated": "已升级", "yes": "是", "no": "否", "optional": "选填",
        "legal_now": "当前状态可执行", "not_legal_now": "当前状态下会被拒绝",
        "amount": "金额", "decided_by": "审批人", "requested_by": "申请人",
        "cycle": "周期", "silent": "未回应", "nps": "推荐度", "due_at": "截止",
        "sign_in_again": "登录已失效，请重新登录。",
        "f_measures": "措施（每行一条）", "f_eta": "预计完成时间", "f_owner": "负责人",
        "f_department": "部门", "f_note": "进展说明", "f_summary": "解决说明",
        "f_satisfied": "客户是否满意", "f_evidence_ref": "凭证（签字、录音、截图编号）",
        "f_reason": "原因", "f_priority": "优先级", "f_to_staff": "转交给（员工编号）",
        "f_to_department": "转交部门", "f_assignee": "处理人（员工编号）",
        "f_amount": "金额", "f_approve": "决定", "f_score": "满意度（1–5）",
        "f_nps": "推荐度（0–10）", "f_praise": "表扬", "f_suggestion": "建议",
        "f_problem": "仍存在的问题", "f_needs_action": "需要进一步跟进",
        "f_method": "回访方式", "f_calendar": "日历（JSON）",
        "approve": "批准", "reject": "驳回",
        "eta_tz": "时区", "new_request": "新建服务单", "n_name": "客户姓名",
        "n_phone": "电话", "n_email": "邮箱", "n_tier": "客户等级", "n_language": "客户语言",
        "n_sub_type": "子类型", "n_order": "订单号", "n_create": "创建服务单",
        "created": "服务单已创建", "team_hint": "团队队列列出所有未结服务单。",
    },
    "en": {
        "console": "Console", "my_queue": "My queue", "team_queue": "Team queue",
        "switch": "中文", "sign_out": "Sign out", "signed_in_as": "Signed in as",
        "updated": "Updated", "live": "Live", "filter": "Filter", "reset": "Clear",
        "status": "Status", "priority": "Priority", "category": "Category",
        "channel": "Channel", "flags": "Flags", "any": "Any", "number": "Request",
        "assignee": "Assignee", "sla": "SLA", "next_deadline": "Next deadline",
        "time_left": "Time left", "received": "Received", "none": "none",
        "empty_queue": "No requests match.",
        "shown_of": "Showing {shown} of {total}, soonest deadline first",
        "overdue": "overdue", "paused": "paused", "satisfied": "met", "stopped": "stopped",
        "intake": "Intake", "customer": "Customer", "customer_id": "Customer id",
        "tier": "Tier", "contact": "Contact", "description": "What the customer said",
        "masked": "hidden", "reveal": "Show customer details", "purpose": "Why (optional)",
        "reveal_audited": "Each view is recorded with who and when.",
        "no_personal_right": "Your role may not read a customer's personal data.",
        "erased": "The customer's details were erased on request",
        "timeline": "Timeline", "clocks": "Clocks", "clock": "Clock", "due": "Due",
        "ladder": "Escalation ladder", "ladder_fired": "done", "ladder_after": "after breach",
        "plan": "Plan", "measures": "Measures", "owner": "Owner", "eta": "ETA",
        "no_plan": "No plan yet.", "compensation": "Compensation",
        "no_compensation": "No compensation.", "follow_up": "Follow-up",
        "no_follow_up": "No follow-up scheduled yet.", "score": "Score",
        "improvements": "Improvement tasks", "no_improvements": "No improvement tasks.",
        "actions": "Actions", "no_actions": "Your role cannot act on this request.",
        "send": "Send", "phrases": "Standard phrases", "phrases_hint": "Click to insert",
        "script_hint": "the call's script, in order",
        "phrases_version": "Phrases version",
        "upset": "The customer is upset: soothe first",
        "sent": "Done: {what}", "refused": "Not done", "back": "Back to the queue",
        "not_found": "There is no such request.", "department": "Department",
        "flag_delayed": "delayed", "flag_awaiting": "awaiting customer",
        "flag_soothe": "soothe first", "flag_repeat": "repeat complaint",
        "flag_escalated": "escalated", "yes": "Yes", "no": "No", "optional": "optional",
        "legal_now": "possible now", "not_legal_now": "refused in the current status",
        "amount": "Amount", "decided_by": "Decided by", "requested_by": "Requested by",
        "cycle": "Cycle", "silent": "silent", "nps": "NPS", "due_at": "Due",
        "sign_in_again": "Your sign-in has expired; please sign in again.",
        "f_measures": "Measures (one per line)", "f_eta": "ETA", "f_owner": "Owner",
        "f_department": "Department", "f_note": "Progress note",
        "f_summary": "Resolution summary", "f_satisfied": "Is the customer satisfied?",
        "f_evidence_ref": "Evidence (signature, recording or screenshot reference)",
        "f_reason": "Reason", "f_priority": "Priority", "f_to_staff": "Hand to (staff id)",
        "f_to_department": "Hand to department", "f_assignee": "Assignee (staff id)",
        "f_amount": "Amount", "f_approve": "Decision", "f_score": "Satisfaction (1–5)",
        "f_nps": "Would recommend (0–10)", "f_praise": "Praise",
        "f_suggestion": "Suggestion", "f_problem": "Problem remaining",
        "f_needs_action": "Needs further action", "f_method": "How it was done",
        "f_calendar": "Calendar (JSON)", "approve": "Approve", "reject": "Reject",
        "eta_tz": "time zone", "new_request": "New request", "n_name": "Customer name",
        "n_phone": "Phone", "n_email": "Email", "n_tier": "Tier",
        "n_language": "Customer's language", "n_sub_type": "Sub-type",
        "n_order": "Order number", "n_create": "Create the request",
        "created": "Request created", "team_hint": "The team queue lists every open request.",
    },
}

# Each command's form title, in both languages.
COMMAND_TITLES: dict[str, dict[Command, str]] = {
    "zh-CN": {
        Command.SUBMIT_PLAN: "提交处理方案", Command.POST_PROGRESS: "更新进展",
        Command.RESOLVE: "提交解决结果", Command.CONFIRM: "记录客户确认",
        Command.CLOSE: "关闭服务单", Command.CANCEL: "取消服务单",
        Command.WAIT_FOR_CUSTOMER: "等待客户回复", Command.CUSTOMER_REPLIED: "客户已回复",
        Command.CHANGE_PRIORITY: "调整优先级", Command.UPDATE_CALENDAR: "更新节假日日历",
        Command.ESCALATE: "升级", Command.REASSIGN: "转派",
        Command.ORDER_REHANDLING: "要求重新处理", Command.REQUEST_COMPENSATION: "申请补偿",
        Command.DECIDE_COMPENSATION: "审批补偿", Command.ASSIGNMENT_MADE: "系统分派",
        Command.RECORD_FOLLOW_UP: "记录回访",
    },
    "en": {
        Command.SUBMIT_PLAN: "Submit the plan", Command.POST_PROGRESS: "Post progress",
        Command.RESOLVE: "Resolve", Command.CONFIRM: "Record the customer's confirmation",
        Command.CLOSE: "Close", Command.CANCEL: "Cancel the request",
        Command.WAIT_FOR_CUSTOMER: "Wait for the customer",
        Command.CUSTOMER_REPLIED: "The customer replied",
        Command.CHANGE_PRIORITY: "Change the priority",
        Command.UPDATE_CALENDAR: "Update the holiday calendar", Command.ESCALATE: "Escalate",
        Command.REASSIGN: "Reassign", Command.ORDER_REHANDLING: "Order re-handling",
        Command.REQUEST_COMPENSATION: "Request compensation",
        Command.DECIDE_COMPENSATION: "Decide on compensation",
        Command.ASSIGNMENT_MADE: "Assignment (system)",
        Command.RECORD_FOLLOW_UP: "Record the follow-up visit",
    },
}

STEP_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {"greeting": "问候", "soothing": "安抚", "restating": "复述问题",
              "proposing": "提出方案", "confirming": "确认", "closing": "结束语"},
    "en": {"greeting": "Greeting", "soothing": "Soothing", "restating": "Restating",
           "proposing": "Proposing", "confirming": "Confirming", "closing": "Closing"},
}


def pick(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it is one we speak, else the browser's first choice."""
    if cookie in LANGS:
        return cookie
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.split("-")[0] == "en" else LANGS[0]
