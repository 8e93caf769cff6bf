"""The words of the pages people read (dashboard, progress page), Chinese first: one
table, each word in ``zh`` and ``en``.

Only the words of the pages themselves are here; states, triggers, spans and documents are
named by the definitions' titles, agencies by their GB/T 2260 names.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The dashboard's languages, the first the default.
LANGUAGES = ("zh", "en")

#: Every word of the dashboard: key -> (Chinese, English). ``{...}`` are filled in.
WORDS: dict[str, tuple[str, str]] = {
    # the frame
    "html_lang": ("zh-CN", "en"),
    "app": ("社会保险关系转移接续", "Social insurance transfers"),
    "skip": ("跳到正文", "Skip to content"),
    "nav": ("主导航", "Main navigation"),
    "inbox": ("待办", "Inbox"),
    "overdue_board": ("逾期看板", "Overdue board"),
    "alerts": ("预警", "Alerts"),
    "reports": ("报表下载", "Reports"),
    "logout": ("退出登录", "Sign out"),
    "language": ("语言", "Language"),
    "other_language": ("English", "中文"),
    "signed_in_as": ("当前用户：{who}", "Signed in as {who}"),
    "as_of": ("截至{day}", "As of {day}"),
    "colon": ("：", ": "),
    "parenthesised": ("（{text}）", "({text})"),
    "full_stop": ("。", ". "),
    # roles
    "role_clerk": ("经办人员", "clerk"),
    "role_origin_clerk": ("转出地经办人员", "origin clerk"),
    "role_destination_clerk": ("转入地经办人员", "destination clerk"),
    "role_supervisor": ("主管", "supervisor"),
    "role_self": ("参保人本人", "the person"),
    "role_employer": ("用人单位", "employer"),
    "role_agent": ("代理人", "agent"),
    "province_of": ("{province}省级", "province {province}"),
    # sign in
    "login_title": ("登录", "Sign in"),
    "login_intro": ("请输入经办机构发给您的访问令牌。", "Enter the access token your agency gave you."),
    "token": ("访问令牌", "Access token"),
    "login_button": ("登录", "Sign in"),
    "login_failed": ("令牌无效或已被吊销，请重新输入。", "The token is unknown or revoked; try again."),
    "logged_out": ("您已退出登录。", "You are signed out."),
    # the inbox
    "inbox_title": ("{agency}待办环节", "Inbox of {agency}"),
    "inbox_intro": ("正在办理的环节，按办结期限排序（有承诺时限的按承诺时限）。",
                    "Running spans, soonest due first (by the committed limit where there is one)."),
    "inbox_empty": ("没有正在办理的环节。", "No running spans."),
    "inbox_count": ("共{total}个环节，显示第{first}–{last}个。", "{total} span(s); showing {first}–{last}."),
    "pages": ("分页", "Pages"),
    "previous": ("上一页", "Previous page"),
    "next": ("下一页", "Next page"),
    "case": ("案件", "Case"),
    "person": ("参保人", "Person"),
    "insurance": ("险种", "Insurance"),
    "span": ("办理环节", "Span"),
    "owner": ("责任方", "Owner"),
    "owner_agency": ("经办机构", "Agency"),
    "state": ("当前状态", "State"),
    "started": ("开始日期", "Started"),
    "committed_due": ("承诺办结日期", "Committed due"),
    "statutory_due": ("法定办结日期", "Statutory due"),
    "ended": ("办结日期", "Ended"),
    "status": ("提示", "Status"),
    "provisional": ("日期暂定", "provisional"),
    "insurance_pension": ("养老保险", "pension"),
    "insurance_medical": ("医疗保险", "medical"),
    "owner_origin": ("转出地", "origin"),
    "owner_destination": ("转入地", "destination"),
    "owner_person": ("参保人", "person"),
    "level_due_soon": ("即将到期（剩{days}个工作日）", "due soon ({days} working day(s) left)"),
    "level_due_today": ("今天到期", "due today"),
    "level_overdue": ("逾期{days}个工作日", "overdue {days} working day(s)"),
    "level_escalated": ("升级督办", "escalated"),
    "level_statutory_breach": ("超过法定时限", "past statutory limit"),
    "level_advisory": ("提示", "advisory"),
    "advisory_different_place_registration": (
        "养老保险已接续而医疗保险未接续（异地登记提示）",
        "pension continued while medical insurance is not (different-place registration)"),
    "running": ("办理中", "running"),
    # the overdue board
    "overdue_title": ("逾期看板", "Overdue board"),
    "overdue_intro": ("{total}个办理环节超过时限；逾期{escalate}个工作日起升级督办。",
                      "{total} span(s) past their limit; escalated from {escalate} working days late."),
    "summary": ("各经办机构汇总", "Summary per agency"),
    "agency": ("经办机构", "Agency"),
    "overdue": ("逾期", "Overdue"),
    "escalated": ("升级督办", "Escalated"),
    "statutory_breaches": ("超过法定时限", "Past statutory limit"),
    "on_time_rate": ("按时办结率", "On-time rate"),
    # the case page
    "case_title": ("案件{id}：{name}", "Case {id}: {name}"),
    "case_facts": ("案件信息", "Case facts"),
    "person_id": ("身份证号码", "ID number"),
    "origin": ("转出地", "Origin"),
    "destination": ("转入地", "Destination"),
    "applicant": ("申请人", "Applicant"),
    "channel": ("申请渠道", "Channel"),
    "channel_counter": ("窗口", "counter"),
    "channel_online": ("网上", "online"),
    "opened": ("申请日期", "Opened"),
    "last_step": ("最近办理日期", "Last step"),
    "amount": ("转移金额（元）", "Amount (yuan)"),
    "contribution_months": ("累计缴费月数", "Contribution months"),
    "version": ("版本", "Version"),
    "timeline": ("办理记录", "Timeline"),
    "date": ("日期", "Date"),
    "step": ("办理事项", "Step"),
    "from_to": ("状态变化", "State change"),
    "by": ("办理人", "By"),
    "details": ("说明", "Details"),
    "trigger_open": ("提出申请", "application"),
    "on_behalf_of": ("代{who}办理", "on behalf of {who}"),
    "documents": ("材料", "Documents"),
    "documents_held": ("已收材料", "Documents held"),
    "documents_requested": ("已告知补充的材料", "Documents requested"),
    "documents_missing": ("下一步还缺的材料", "Missing for the next steps"),
    "missing_for": ("{step}：", "{step}: "),
    "none": ("无", "none"),
    "spans": ("办理环节与期限", "Spans and due dates"),
    "actions": ("可办理事项", "Steps you may take"),
    "no_actions": ("您在当前状态下没有可办理的事项。", "There is no step you may take in this state."),
    "supervisor_reads": ("主管可查阅案件，但不办理具体事项。",
                         "A supervisor reads cases but takes no steps."),
    "supplied_documents": ("随本次办理提交的材料", "Documents supplied with this step"),
    "explanation": ("说明理由", "Explanation"),
    "documents_needed": ("需补充的材料", "Documents needed"),
    "business_date": ("办理日期（留空为今天）", "Business date (empty: today)"),
    "refused": ("未办理：{message}", "Not done: {message}"),
    "refused_state": ("未办理：案件当前为「{state}」，不能办理「{step}」；现在可办理：{allowed}。",
                      "Not done: the case is '{state}', where '{step}' cannot be done; "
                      "possible now: {allowed}."),
    "refused_closed": ("未办理：案件已办结（{state}），不能再办理任何环节。",
                       "Not done: the case is closed ({state}); no step can be done."),
    "refused_who": ("未办理：「{step}」只能由{who}办理。",
                    "Not done: '{step}' may be done only by {who}."),
    "list_or": ("或", " or "),
    "refused_missing": ("未办理：「{step}」还缺以下材料：{kinds}。",
                        "Not done: “{step}” needs documents the case does not hold: {kinds}."),
    "refused_stale": ("未办理：案件已被他人更新，请查看最新情况后重试。",
                      "Not done: the case changed meanwhile; look at it again and retry."),
    "done": ("已办理：{step}。", "Done: {step}."),
    # alerts
    "alerts_title": ("预警", "Alerts"),
    "alerts_intro": ("最近的{n}条预警，最新的在前。", "The latest {n} alert(s), newest first."),
    "alerts_empty": ("没有预警。", "No alerts."),
    "level": ("级别", "Level"),
    "due": ("办结期限", "Due"),
    "days_late": ("逾期工作日", "Working days late"),
    "raised_on": ("预警日期", "Raised on"),
    # reports
    "reports_title": ("报表下载", "Reports"),
    "reports_intro": ("超期办理报表（截至今天），范围为{scope}，语言与本页相同。",
                      "The overdue report as of today for {scope}, in this page's language."),
    "format_csv": ("CSV（逐条明细）", "CSV (one line per overdue span)"),
    "format_xlsx": ("Excel（汇总与明细）", "Excel (summary and detail)"),
    "format_html": ("网页（图表、汇总与明细，可打印）", "Web page (chart, summary, detail; printable)"),
    "download": ("下载", "Download"),
    # refusals of whole pages
    "forbidden_title": ("无权查阅", "Not permitted"),
    "forbidden": ("您无权查阅此页面：{message}", "You may not read this page: {message}"),
    "not_staff": ("工作台仅供经办机构人员使用。", "The dashboard is for agency staff."),
    "not_found_title": ("未找到", "Not found"),
    "not_found": ("没有编号为{id}的案件。", "There is no case {id}."),
    "back_to_inbox": ("返回待办", "Back to the inbox"),
    # the person's progress page (progress_* : the page's own words)
    "progress_title": ("社会保险关系转移进度查询", "Social insurance transfer: progress"),
    "progress_intro": ("请输入转移申请的业务编号和本人身份证号码，两者一致方可查询办理进度。",
                       "Enter the case number of the transfer and your ID number; both must match."),
    "progress_case_number": ("业务编号", "Case number"),
    "progress_person_id": ("身份证号码", "ID number"),
    "progress_submit": ("查询", "Show progress"),
    "progress_no_match": ("未查询到与所填业务编号和身份证号码相符的转移申请，请核对后重新输入。",
                          "No transfer matches this case number and ID number. Check both and try again."),
    "progress_rate_limited": ("查询次数过多，请在{minutes}分钟后再试。",
                              "Too many tries. Try again in {minutes} minutes."),
    "progress_masked_id": ("身份证号码", "ID number"),
    "progress_steps_done": ("已办理环节", "Steps done"),
    "progress_step": ("环节", "Step"),
    "progress_date": ("办理日期", "Date"),
    "progress_none_done": ("尚无已办理环节。", "No step has been done yet."),
    "progress_running": ("当前办理环节", "Step now running"),
    "progress_agency": ("办理机构", "Agency"),
    "progress_committed_due": ("承诺办结日期", "Committed due date"),
    "progress_statutory_due": ("法定办结日期", "Statutory due date"),
    "progress_current_state": ("当前状态", "Current state"),
    "progress_waiting": ("当前没有经办机构正在办理的环节。", "No agency is working on this case right now."),
    "progress_finished": ("本次转移已办结。", "This transfer is finished."),
    "progress_again": ("查询其他业务", "Look up another case"),
    "progress_note": ("本页仅显示办理进度，不显示个人其他信息。",
                      "This page shows the progress only, nothing else about you."),
}


def words(lang: str) -> dict[str, str]:
    """The dashboard's words in ``lang`` (``zh`` or ``en``)."""
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in WORDS.items()}


def text(table: Mapping[str, str], key: str, **values: object) -> str:
    """A word of ``table`` with its ``{...}`` filled in."""
    return table[key].format(**values)


__all__ = ["LANGUAGES", "WORDS", "text", "words"]
