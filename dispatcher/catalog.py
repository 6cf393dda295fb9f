"""Every word a person reads, in Chinese (zh-CN, the default) and English side by side:
the SMS and calls to workers, relatives and supervisors, the terminal's screen, the
answers to SMS replies and key presses, and the operators' dashboard.

One table, so that a missing translation shows at once (`tests/rules/test_catalog.py`
checks that both languages of every entry use the same `{placeholders}`). Texts are
filled with `str.format`. The words a person may *send* (reply vocabulary) stay with the
reply rules, `dispatcher/rules/replies.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

Language = Literal["zh-CN", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("zh-CN", "en")
DEFAULT: Final[Language] = "zh-CN"


def language(tag: str | None) -> Language:
    """The catalog language for a stored language tag (`en`, `en-GB`, `zh-CN`, `zh`)."""
    return "en" if tag is not None and tag.lower().startswith("en") else "zh-CN"


def text(key: str, lang: str | None, /, **values: object) -> str:
    """The entry `key` in `lang`, filled with `values`. An unknown key is a bug: KeyError."""
    words = _CATALOG[key][1 if language(lang) == "en" else 0]
    return words.format(**values) if values else words


@dataclass(frozen=True, slots=True)
class Phrase:
    """An entry to be said later, in a language not known yet where it is chosen. A
    value that is a Phrase, or a tuple of them (a list, joined), is said in that
    language too."""

    key: str
    values: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str | None) -> str:
        return text(self.key, lang, **{k: _said(v, lang) for k, v in self.values.items()})


def _said(value: object, lang: str | None) -> object:
    if isinstance(value, Phrase):
        return value.text(lang)
    if isinstance(value, tuple) and value and all(isinstance(v, Phrase) for v in value):
        return text("list.separator", lang).join(v.text(lang) for v in value)
    return value


def has(key: str) -> bool:
    return key in _CATALOG


def strings(lang: str | None) -> dict[str, str]:
    """Every entry in one language: what the dashboard's scripts render with."""
    index = 1 if language(lang) == "en" else 0
    return {key: pair[index] for key, pair in _CATALOG.items()}


# key: (zh-CN, en)
_CATALOG: Final[dict[str, tuple[str, str]]] = {
    # --- SMS to workers, relatives, providers and supervisors ------------------------
    # short and clear: who, where, what, how to answer; no links (SMS spam filters and
    # elderly-phone users both distrust them)
    "sms.step": (
        "【一键通】{name}（{address}）{what}。能去请回复“1 {code}”，不能去回复“2 {code}”。",
        "[One-touch] {name} ({address}) {what}. Reply 1 {code} if you can go, 2 {code} if not.",
    ),
    "sms.step.emergency": (
        "【一键通】紧急：{name}（{address}）{what}。能去请回复“1 {code}”，不能去回复“2 {code}”。",
        (
            "[One-touch] URGENT: {name} ({address}) {what}. "
            "Reply 1 {code} if you can go, 2 {code} if not."
        ),
    ),
    "sms.exhausted": (
        "【一键通】无人接警：{name}（{address}）{what}，请主管立即处理。",
        "[One-touch] NOBODY RESPONDED: {name} ({address}) {what}.",
    ),
    "sms.ack_overdue": (
        "【一键通】超时未结案：{name}（{address}）{what}，请主管跟进。",
        "[One-touch] Taken but not closed: {name} ({address}) {what}.",
    ),
    "sms.summary": (
        "【一键通】您另有{n}起报警未逐条发送：{items}。请尽快联系中心。",
        "[One-touch] {n} more alarm(s) for you: {items}. Please call the centre.",
    ),
    "sms.summary.item": ("{name}（回复“1 {code}”）", "{name} (reply 1 {code})"),
    "sms.summary.separator": ("、", ", "),
    "list.separator": ("、", ", "),
    "sms.summary.notes": (
        "【一键通】您另有{n}条通知未逐条发送，涉及：{names}。详情请联系中心。",
        "[One-touch] {n} more message(s) for you, about: {names}. Call the centre for details.",
    ),
    # both: the alarms and the messages that only inform (one template, not two joined)
    "sms.summary.with_notes": (
        "【一键通】您另有{n}起报警未逐条发送：{items}。请尽快联系中心。另有{notes}条通知，涉及：{names}。",
        (
            "[One-touch] {n} more alarm(s) for you: {items}. Please call the centre. "
            "Also {notes} message(s) about: {names}."
        ),
    ),
    # a service request to a provider of the ten-minute circle
    "sms.service": (
        (
            "【一键通】服务请求：{name}（{address}，电话{phone}）需要{service}。"
            "接单回复“1 {code}”，完成后回复“4 {code}”，不能接回复“2 {code}”。"
        ),
        (
            "[One-touch] Service request: {name} ({address}, tel {phone}) needs {service}. "
            "Reply 1 {code} to accept, 4 {code} when done, 2 {code} if you cannot."
        ),
    ),
    # a resident without a phone of their own: a variant, not an empty placeholder (SMS
    # templates of Alibaba Cloud take no empty variable)
    "sms.service.no_phone": (
        (
            "【一键通】服务请求：{name}（{address}）需要{service}。"
            "接单回复“1 {code}”，完成后回复“4 {code}”，不能接回复“2 {code}”。"
        ),
        (
            "[One-touch] Service request: {name} ({address}) needs {service}. "
            "Reply 1 {code} to accept, 4 {code} when done, 2 {code} if you cannot."
        ),
    ),
    # relatives hear how it ended (docs/daily-care.md)
    "sms.told_taken": (
        "【一键通】{name}的求助已由{who}接手处理。",
        "[One-touch] {who} has taken {name}'s call for help.",
    ),
    "sms.told_closed": (
        "【一键通】{name}的求助已处理完毕：{outcome}。",
        "[One-touch] {name}'s call for help is closed: {outcome}.",
    ),
    # a provider sent a service request hears that it is closed (docs/daily-care.md): a
    # relative's words ("call for help") are not theirs, and the code names which request
    "sms.service_closed": (
        "【一键通】服务请求（编号{code}）已结束：{name}，{outcome}。无需再上门，谢谢。",
        "[One-touch] Service request {code} for {name} is closed: {outcome}. No need to go.",
    ),
    # a relative is told that the centre has it, not an operator's login name
    "told.who.operator": ("一键通中心接警员", "An operator of the one-touch centre"),
    "told.who.worker": ("社区工作者{who}", "community worker {who}"),
    "told.who.contact": ("{who}", "{who}"),
    "told.who.provider": ("服务商{who}", "the provider {who}"),
    "told.who.supervisor": ("一键通中心值班长{who}", "{who}, supervisor of the one-touch centre"),
    # the morning check-in summary to the worker on shift
    # two placeholders never touch: Alibaba Cloud refuses a template with ${a}${b}
    "sms.checkin_summary": (
        (
            "【一键通】{community}，{date}报平安：已报{ok}人，未报{missed}人（{names}），"
            "暂停{paused}人，未到时间{waiting}人。"
        ),
        (
            "[One-touch] {community}, check-ins of {date}: {ok} checked in, "
            "{missed} not ({names}), {paused} paused, {waiting} not due yet."
        ),
    ),
    "sms.checkin_summary.all_in": (
        (
            "【一键通】{community}，{date}报平安：已报{ok}人，未报{missed}人，"
            "暂停{paused}人，未到时间{waiting}人。"
        ),
        (
            "[One-touch] {community}, check-ins of {date}: {ok} checked in, {missed} not, "
            "{paused} paused, {waiting} not due yet."
        ),
    ),
    # the supervisors hear of an SMS opt-out
    "sms.opt_out": (
        "【一键通】{who}（{phone}）回复“{word}”退订了短信，今后只能电话通知，请核实。",
        (
            "[One-touch] {who} ({phone}) replied {word}: no more SMS to them, calls still go. "
            "Please check with them."
        ),
    ),
    "opt_out.unknown": ("未登记号码", "an unregistered number"),
    # what the alarm is about, inside a message
    "what.sos": ("按下紧急呼叫", "pressed the emergency button"),
    "what.fall": ("跌倒报警", "fall detected"),
    "what.service": ("请求生活服务", "asks for a life service"),
    "what.tamper": ("设备被拆动", "terminal tampered with"),
    "what.power_lost": ("设备断电", "terminal lost power"),
    "what.low_battery": ("设备电量低", "terminal battery low"),
    "what.missed_checkin": ("未按时报平安", "missed the daily check-in"),
    "what.offline": ("终端离线，无法呼救", "terminal offline, cannot call for help"),
    "what.outage": ("多台终端同时离线或断电", "many terminals offline or without power"),
    "outage.count": ("{n}台终端", "{n} terminals"),
    # what a service request asks for: the city file's provider categories
    "category.meals": ("助餐送餐", "meals"),
    "category.housekeeping": ("家政保洁", "housekeeping"),
    "category.repairs": ("维修", "repairs"),
    "category.medical_escort": ("陪诊就医", "a medical escort"),
    "category.shopping": ("代购生活用品", "shopping"),
    "category.haircut": ("理发", "a haircut"),
    "category.laundry": ("洗衣", "laundry"),
    "category.any": ("生活服务", "a life service"),
    # --- calls ----------------------------------------------------------------------
    "voice.alarm": (
        (
            "这里是一键通紧急援助中心。{name}，住址{address}，{what}。"
            "您能前往请按1，不能前往请按2，已到达现场请按3，重听请按9。"
        ),
        (
            "This is the one-touch emergency service. {name}, {address}, {what}. "
            "Press 1 if you will go. Press 2 if you cannot. Press 3 if you are at the door. "
            "Press 9 to hear this again."
        ),
    ),
    "voice.arrived": (
        "谢谢您，已记录您到达现场。再见。",
        "Thank you. Your arrival is recorded. Goodbye.",
    ),
    "voice.taken": (
        "谢谢您，已确认由您前往。中心已通知老人。再见。",
        "Thank you. You are taking this alarm. Goodbye.",
    ),
    "voice.declined": (
        "好的，我们将联系其他人。再见。",
        "All right, we will call someone else. Goodbye.",
    ),
    "voice.no_key": (
        "未收到按键，我们将继续联系其他人。再见。",
        "No key was pressed. We will call someone else. Goodbye.",
    ),
    # --- the terminal's screen ------------------------------------------------------
    "terminal.help_coming": (
        "已收到您的求助，救助人员正在赶来。",
        "Your call for help was received. Help is on its way.",
    ),
    "terminal.alarm_closed": ("本次求助已处理完毕。", "This call for help has been dealt with."),
    "terminal.help_coming.service": (
        "已收到您的服务请求，服务人员会尽快联系您。",
        "Your request was received. The service will contact you soon.",
    ),
    "terminal.alarm_closed.service": ("本次服务已完成。", "This service request is done."),
    # --- answers to SMS replies and key presses --------------------------------------
    "reply.stopped": (
        "您已退订一键通短信，紧急情况仍会致电您。回复START可重新订阅。",
        (
            "You will get no more one-touch SMS; in an emergency we still call you. "
            "Reply START to get SMS again."
        ),
    ),
    "reply.started": ("您已重新订阅一键通通知。", "You will get one-touch messages again."),
    "reply.help": (
        "请回复1表示能去，回复2表示不能去，到达后回复3；多起报警时请加编号，如：1 23",
        (
            "Reply 1 if you can go, 2 if you cannot, 3 when you are at the door; "
            "with several alarms add its number, like: 1 23"
        ),
    ),
    "reply.which": (
        "您有{n}起待处理的报警：{items}。请回复“{digit} 编号”，如：{digit} {first}",
        "You have {n} alarms waiting: {items}. Reply {digit} and its number, like: {digit} {first}",
    ),
    "reply.which.item": ("{name}（编号{code}）", "{name} (number {code})"),
    "reply.not_provider": (
        "回复4仅供服务商使用。请回复1表示能去，回复2表示不能去，到达后回复3。",
        (
            "4 is for service providers. Reply 1 if you can go, 2 if you cannot, "
            "3 when you are at the door."
        ),
    ),
    "reply.arrived": (
        "已记录您到达现场（编号{code}），谢谢！",
        "Thank you: your arrival at alarm {code} is recorded.",
    ),
    "reply.service_accepted": (
        "已确认由您接单（编号{code}），完成后请回复“4 {code}”。",
        "Thank you: you accepted request {code}. Reply 4 {code} when it is done.",
    ),
    "reply.service_done": (
        "已记录服务完成（编号{code}），谢谢！",
        "Thank you: request {code} is recorded as done.",
    ),
    "reply.unknown_code": (
        "未找到编号{code}的报警，请核对后重新回复。",
        "There is no alarm number {code} for you: please check it and reply again.",
    ),
    "reply.nothing_open": ("您没有待处理的报警，谢谢。", "You have no alarm waiting. Thank you."),
    "reply.taken": (
        "已确认由您前往（编号{code}），谢谢！到达后请回复“3 {code}”。",
        "Thank you: you are taking alarm {code}. Reply 3 {code} when you are at the door.",
    ),
    "reply.declined": ("已收到，我们将联系其他人。", "Understood: we will contact someone else."),
    "reply.already_taken": (
        "此报警已由{who}接警，谢谢。",
        "{who} has already taken this alarm. Thank you.",
    ),
    "reply.already_resolved": (
        "此报警已处理完毕，谢谢。",
        "This alarm is closed already. Thank you.",
    ),
    # --- the operators' dashboard ----------------------------------------------------
    "language.zh-CN": ("中文", "Chinese"),
    "language.en": ("英语", "English"),
    "recipient.operators": ("接警台", "Operators"),
    "app.title": ("一键呼救 · 接警台", "One-touch alarm · Operator console"),
    "app.brand": ("一键呼救", "One-touch"),
    "sep.colon": ("：", ": "),
    "nav.queue": ("接警队列", "Queue"),
    "nav.terminals": ("终端", "Terminals"),
    "nav.residents": ("居民", "Residents"),
    "nav.checkins": ("报平安", "Check-ins"),
    "nav.admin": ("管理", "Admin"),
    "nav.logout": ("退出", "Log out"),
    "nav.lang": ("English", "中文"),
    "role.operator": ("接警员", "Operator"),
    "role.supervisor": ("值班长", "Supervisor"),
    "role.admin": ("管理员", "Administrator"),
    "role.wallboard": ("大屏", "Wallboard"),
    "live.up": ("实时", "Live"),
    "live.down": ("已断开", "Disconnected"),
    "banner.offline": (
        "连接已断开，正在重新连接……以下信息可能已过时，请勿据此处置！",
        "Disconnected, reconnecting… What you see may be out of date: do not act on it!",
    ),
    "sound.enable": ("启用警报声", "Enable alarm sound"),
    "flash.new": ("【新紧急警情】", "[NEW EMERGENCY]"),
    "login.title": ("接警员登录", "Operator login"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong username or password"),
    "login.throttled": (
        "登录失败次数过多，请 {minutes} 分钟后再试",
        "Too many failed logins: try again in {minutes} minutes",
    ),
    "login.expired": ("页面已过期，请重新登录", "The page expired: please log in again"),
    "forbidden.title": ("无权访问", "Not allowed"),
    "forbidden.text": ("此页面需要{role}权限。", "This page needs the {role} role."),
    "queue.title": ("接警队列", "Alarm queue"),
    "queue.empty": ("当前没有待处理的警情", "No open alarms"),
    "queue.count": ("{n} 条待处理", "{n} to handle"),
    "col.kind": ("类别", "Kind"),
    "col.resident": ("居民", "Resident"),
    "col.address": ("地址 / 社区", "Address / community"),
    "col.age": ("已等待", "Waiting"),
    "col.step": ("升级进度", "Escalation"),
    "col.taken": ("接警人", "Taken by"),
    "kind.emergency": ("紧急求助", "Emergency"),
    "kind.service": ("生活服务", "Service"),
    "kind.device": ("设备故障", "Device"),
    "kind.checkin": ("未报平安", "Missed check-in"),
    "type.sos": ("呼救按钮", "SOS button"),
    "type.fall": ("跌倒报警", "Fall detected"),
    "type.service": ("服务按钮", "Service button"),
    "type.low_battery": ("电量低", "Low battery"),
    "type.power_lost": ("断电", "Power lost"),
    "type.tamper": ("设备被拆", "Tamper"),
    "type.missed_checkin": ("未按时报平安", "Missed check-in"),
    "type.offline": ("终端离线", "Terminal offline"),
    "type.outage": ("成片停电/离线", "Outage"),
    "status.open": ("未接警", "Not taken"),
    "status.acknowledged": ("已接警", "Taken"),
    "status.resolved": ("已结案", "Resolved"),
    "taken.by": ("{who} 已接警", "Taken by {who}"),
    "taken.nobody": ("无人接警", "Nobody yet"),
    "step.n": ("第 {n} 步", "Step {n}"),
    "round.n": ("第 {n} 轮", "round {n}"),
    "cancel.requested": ("居民按了取消，请确认", "Resident pressed cancel: confirm"),
    "exhausted": ("无人响应，已通知值班长", "Nobody answered: supervisors alerted"),
    "age.s": ("{s}秒", "{s}s"),
    "age.ms": ("{m}分{s}秒", "{m}m {s}s"),
    "age.hm": ("{h}小时{m}分", "{h}h {m}m"),
    "age.years": ("{n}岁", "{n} years"),
    "action.take": ("接警", "Take"),
    "action.open": ("查看", "Open"),
    "action.note": ("记录", "Note"),
    "action.ambulance": ("已呼叫120", "Ambulance called (120)"),
    "action.resolve": ("结案", "Resolve"),
    "action.back": ("返回队列", "Back to queue"),
    "action.save": ("保存", "Save"),
    "action.cancel": ("取消", "Cancel"),
    "action.confirm": ("确认", "Confirm"),
    "action.edit": ("编辑", "Edit"),
    "action.add": ("添加", "Add"),
    "action.remove": ("删除", "Remove"),
    "action.arrived": ("已到达现场", "At the door"),
    "action.dispatch": ("派单", "Send"),
    "arrived.by": ("{who} 已到达", "{who} at the door"),
    "arrived.confirm": (
        "确认已有人到达老人家中？",
        "Record that someone is at the door?",
    ),
    "arrived.who": ("到达的是谁（姓名）", "Who is at the door (name)"),
    "arrived.someone": ("已有人到达", "Someone is at the door"),
    "keys.queue": (
        "单击一行即打开 · 快捷键：J/↓ 下一条 · K/↑ 上一条 · Enter 打开 · T 接警 · R 结案",
        (
            "A click on a row opens it · Keys: J/↓ next · K/↑ previous · Enter open · "
            "T take · R resolve"
        ),
    ),
    "keys.alarm": (
        "快捷键：T 接警 · N 记录 · A 已呼叫120 · D 已到达 · R 结案 · Esc 返回队列",
        (
            "Keys: T take · N note · A ambulance called · D at the door · R resolve · "
            "Esc back to queue"
        ),
    ),
    "note.placeholder": ("输入处置记录（Ctrl+Enter 保存）", "Write a note (Ctrl+Enter saves)"),
    "ambulance.note": ("已呼叫120急救车", "Ambulance called (120)"),
    "ambulance.confirm": ("确认已呼叫120急救车？", "Record that an ambulance (120) was called?"),
    "resolve.title": ("结案", "Resolve the alarm"),
    "resolve.outcome": ("处置结果（按 1–5 选择）", "Outcome (press 1–5)"),
    "resolve.note": ("备注（可选）", "Note (optional)"),
    "outcome.help_given": ("已提供帮助", "Help given"),
    "outcome.false_alarm": ("误报", "False alarm"),
    "outcome.ambulance_called": ("已呼叫救护车", "Ambulance called"),
    "outcome.resident_not_home": ("居民不在家", "Resident not home"),
    "outcome.other": ("其他", "Other"),
    "outcome.resident_checked_in": ("居民已报平安", "Resident checked in"),
    "outcome.device_recovered": ("设备已恢复", "Device recovered"),
    "outcome.service_done": ("服务已完成", "Service done"),
    "outcome.resolved_itself": ("已自行恢复", "Resolved by itself"),
    "card.resident": ("居民信息", "Resident"),
    "card.address": ("住址", "Address"),
    "card.community": ("社区", "Community"),
    "card.medical": ("病史 / 注意事项", "Medical notes"),
    "card.language": ("语言", "Language"),
    "card.terminal": ("终端", "Terminal"),
    "card.battery": ("电量", "Battery"),
    "card.signal": ("信号", "Signal"),
    "card.last_seen": ("最后联系", "Last seen"),
    "card.online": ("在线", "Online"),
    "card.offline": ("离线", "Offline"),
    "card.contacts": ("紧急联系人", "Emergency contacts"),
    "card.workers": ("社区工作者", "Community workers"),
    "card.on_shift": ("在岗", "On shift"),
    "card.off_shift": ("不在岗", "Off shift"),
    "card.timeline": ("时间线", "Timeline"),
    "card.notifications": ("通知与送达状态", "Notifications and delivery"),
    "card.none": ("无", "None"),
    "card.alarms": ("近期警情", "Recent alarms"),
    "card.providers": ("十分钟生活服务圈", "Ten-minute service circle"),
    "card.service": ("服务进度", "Service"),
    "card.service_default": ("常用服务", "Usual service"),
    "fact.reached": ("{name}（{channels}）", "{name} ({channels})"),
    "fact.nobody": ("无人", "nobody"),
    "fact.missing.no_supervisor": ("没有值班长", "no supervisor"),
    "fact.missing.no_worker": ("本社区没有社区工作者", "no worker in the community"),
    "fact.missing.no_worker_on_shift": ("没有在岗的社区工作者", "no worker on shift"),
    "fact.missing.no_contact": ("没有紧急联系人", "no contact"),
    "fact.missing.no_contact_priority": ("没有第{arg}紧急联系人", "no contact of priority {arg}"),
    "fact.missing.no_default_service": ("居民未设常用服务", "the resident has no usual service"),
    "fact.missing.no_provider_category": ("没有{arg}服务商", "no provider of {arg}"),
    "fact.unreachable": ("无法通过{channels}联系：{names}", "not reachable by {channels}: {names}"),
    "fact.exhausted": (
        "{rounds}轮通知无人接警；已通知值班长：{names}",
        "nobody took it in {rounds} round(s); supervisors alerted: {names}",
    ),
    "fact.ack_overdue": (
        "{who}接警{m}分钟后仍未结案；已通知：{names}",
        "taken by {who} but not closed after {m} min; alerted: {names}",
    ),
    "fact.next_now": (
        "本步无人可达，立即进入下一步",
        "nobody reachable in this step; next step now",
    ),
    "card.outage": ("成片离线/断电的终端", "Terminals in the outage"),
    "card.checkin": ("每日报平安", "Daily check-in"),
    "service.provider": ("服务商：{name}", "Provider: {name}"),
    "service.none": ("尚未派单", "Not sent to a provider yet"),
    "sstate.accepted": ("已接单", "Accepted"),
    "sstate.on_the_way": ("在路上", "On the way"),
    "sstate.done": ("已完成", "Done"),
    "sstate.sent": ("已派单，待接单", "Sent, not accepted yet"),
    "outage.summary": (
        "共{total}台 · 仍离线/断电{held}台 · 已恢复{back}台",
        "{total} terminals · {held} still down · {back} back",
    ),
    "outage.members": ("{n}台终端", "{n} terminals"),
    "outage.held": ("共涉及{n}台终端", "{n} terminals in all"),
    "timeline.times": ("共{n}条", "{n} times"),
    "timeline.provider_error": ("短信/电话服务商报错", "the SMS/voice provider refused it"),
    "timeline.more": ("等，另有{n}台", " and {n} more"),
    "outage.back": ("已恢复", "Back"),
    "outage.down": ("未恢复", "Still down"),
    "reason.offline": ("离线", "Offline"),
    "reason.power_lost": ("断电", "Power lost"),
    "channel.dashboard": ("接警台", "Dashboard"),
    "channel.sms": ("短信", "SMS"),
    "channel.voice": ("语音电话", "Voice call"),
    "channel.terminal": ("终端", "Terminal"),
    "nstatus.pending": ("待发送", "Pending"),
    "nstatus.sending": ("发送中", "Sending"),
    "nstatus.sent": ("已发出", "Sent"),
    "nstatus.delivered": ("已送达", "Delivered"),
    "nstatus.failed": ("失败", "Failed"),
    "nstatus.permanent_failure": ("发送失败", "Failed for good"),
    "nstatus.cancelled": ("已取消", "Cancelled"),
    "nstatus.held": ("暂缓（限流）", "Held (throttled)"),
    "nstatus.declined": ("对方拒绝", "Declined"),
    "nstatus.summarized": ("已合并在汇总短信中", "Sent in a summary"),
    "nstatus.unanswered": ("无人接听", "Not answered"),
    "nstatus.opted_out": ("对方已退订短信", "Opted out of SMS"),
    "audit.field.address": ("住址", "address"),
    "audit.field.birth_year": ("出生年份", "birth year"),
    "audit.field.community": ("社区", "community"),
    "audit.field.contacts": ("紧急联系人", "contacts"),
    "audit.field.language": ("语言", "language"),
    "audit.field.medical": ("病史", "medical notes"),
    "audit.field.name": ("姓名", "name"),
    "audit.field.terminal": ("终端", "terminal"),
    "audit.field.phone": ("电话", "phone"),
    "audit.field.service_default": ("常用服务", "usual service"),
    "audit.field.window": ("报平安时段", "check-in window"),
    "audit.field.paused_until": ("暂停至", "paused until"),
    "audit.field.reason": ("暂停原因", "reason of the pause"),
    "audit.created": ("新建档案", "record created"),
    "log.device_event": ("终端事件", "Terminal event"),
    "log.alarm_opened": ("警情创建", "Alarm opened"),
    "log.alarm_updated": ("再次按键", "Pressed again"),
    "log.cancel_requested": ("居民按了取消", "Resident pressed cancel"),
    "log.cancel_withdrawn": ("居民取消后再次呼救", "Pressed again after cancel"),
    "log.ack": ("接警", "Taken"),
    "log.resolve": ("结案", "Resolved"),
    "log.resolved": ("自动结案", "Closed automatically"),
    "log.note": ("记录", "Note"),
    "log.step_fired": ("升级通知", "Escalation step"),
    "log.step_skipped": ("跳过（无人可通知）", "Step skipped (nobody to notify)"),
    "log.step_ended": ("本步结束", "Step ended"),
    "log.exhausted": ("升级已用尽", "Escalation exhausted"),
    "log.ack_overdue": ("接警后长时间未结案", "Taken but not resolved for long"),
    "log.notification_sent": ("通知已发出", "Notification sent"),
    "log.notification_failed": ("通知失败", "Notification failed"),
    "log.notification_status": ("送达状态", "Delivery status"),
    "log.notification_failover": ("改由下一通道重发", "Sent again by the next provider"),
    "log.notification_in_doubt": (
        "服务商未及时应答，可能已发出：等待回执，未回执再重发",
        "No answer from the provider, it may have gone: its report awaited before sending again",
    ),
    "log.declined": ("对方拒绝", "Declined"),
    "log.arrived": ("已到达现场", "At the door"),
    "log.service_dispatched": ("派单给服务商", "Sent to a provider"),
    "log.service_state": ("服务进度", "Service state"),
    "log.outage_joined": ("终端加入", "Terminal joined"),
    "log.outage_left": ("终端恢复", "Terminal back"),
    "log.checkin_missed": ("未按时报平安", "Check-in missed"),
    "via.dashboard": ("接警台", "dashboard"),
    "via.sms": ("短信", "SMS"),
    "via.voice": ("电话按键", "phone key"),
    "actor.terminal": ("终端", "terminal"),
    "actor.engine": ("系统升级", "escalation"),
    "actor.notifier": ("通知系统", "notifier"),
    "actor.resident": ("居民", "resident"),
    "terminals.title": (
        "终端状态（离线、低电量优先）",
        "Terminals (offline and low battery first)",
    ),
    "terminals.problems": ("只看异常", "Problems only"),
    "terminals.low": ("电量低", "Low battery"),
    "terminals.none": ("没有终端", "No terminals"),
    "residents.title": ("居民查询", "Residents"),
    "residents.search": (
        "搜索：姓名、电话、地址、终端号",
        "Search: name, phone, address, terminal id",
    ),
    "residents.none": ("没有找到", "Nothing found"),
    "checkins.title": ("今日报平安", "Today's check-ins"),
    "checkins.all": ("全部社区", "All communities"),
    "checkins.state": ("今日", "Today"),
    "checkins.none": ("没有设置报平安时段的居民", "No resident has a check-in window"),
    "checkins.counts": (
        "未报 {missed} · 时段内 {due} · 已报 {ok} · 暂停 {paused} · 未到时间 {waiting}",
        "Missed {missed} · due {due} · checked in {ok} · paused {paused} · later {waiting}",
    ),
    "checkin.window": ("报平安时段", "Window"),
    "checkin.paused_until": ("暂停至", "Paused until"),
    "checkin.reason": ("暂停原因", "Reason"),
    "checkin.last_press": ("最后按键", "Last press"),
    "checkin.pause": ("暂停", "Pause"),
    "checkin.resume": ("恢复", "Resume"),
    "checkin.window_hint": ("如 07:00-10:00，留空为不设", "like 07:00-10:00; empty: none"),
    "cstate.no_window": ("未设置", "No window"),
    "cstate.paused": ("已暂停", "Paused"),
    "cstate.waiting": ("未到时间", "Later today"),
    "cstate.due": ("时段内，待报", "Due now"),
    "cstate.checked_in": ("已报平安", "Checked in"),
    "cstate.late": ("逾时后已报", "Checked in late"),
    "cstate.missed": ("未报平安", "Missed"),
    "admin.title": ("管理：社区工作者与排班", "Admin: community workers and shifts"),
    "admin.resident": ("编辑居民", "Edit resident"),
    "admin.new_resident": ("新增或编辑居民（输入编号）", "New or existing resident (enter id)"),
    "admin.saved": ("已保存", "Saved"),
    "admin.errors": ("有错误，未保存：", "Not saved, please correct:"),
    "admin.shifts": ("排班，如", "Shifts, e.g."),
    "days.every": ("每天", "every day"),
    "days.range": ("{a}至{b}", "{a}–{b}"),
    "day.mon": ("周一", "Mon"),
    "day.tue": ("周二", "Tue"),
    "day.wed": ("周三", "Wed"),
    "day.thu": ("周四", "Thu"),
    "day.fri": ("周五", "Fri"),
    "day.sat": ("周六", "Sat"),
    "day.sun": ("周日", "Sun"),
    "field.id": ("编号", "Id"),
    "field.name": ("姓名", "Name"),
    "field.phone": ("电话", "Phone"),
    "field.relation": ("关系", "Relation"),
    "field.priority": ("顺序", "Priority"),
    "field.channel": ("首选方式", "Preferred channel"),
    "field.language": ("语言", "Language"),
    "field.birth_year": ("出生年份", "Birth year"),
    "field.days": ("星期", "Days"),
    "field.start": ("开始", "Start"),
    "field.end": ("结束", "End"),
    # --- history, reports and the audit log -------------------------------------------
    "nav.history": ("历史警情", "History"),
    "nav.reports": ("统计报表", "Reports"),
    "reports.summary": (
        "全市达标情况（{from} 至 {to}）",
        "The city against the targets ({from} to {to})",
    ),
    "reports.city": ("全市", "The city"),
    # a user with a scope (a district, a street, a community): its name
    "reports.summary.area": (
        "{area}达标情况（{from} 至 {to}）",
        "{area} against the targets ({from} to {to})",
    ),
    "nav.audit": ("访问记录", "Audit"),
    "card.medical_withheld": (
        "（仅在该居民有未结警情时向接警员显示）",
        "(shown to operators only while the resident has an open alarm)",
    ),
    "checkin.reason_withheld": (
        "（原因仅在该居民有未结警情时向接警员显示）",
        "(the reason is shown to operators only while the resident has an open alarm)",
    ),
    "action.back_history": ("返回历史", "Back to history"),
    "action.search": ("查询", "Search"),
    "action.more": ("加载更多", "More"),
    "action.export": ("导出CSV", "Export CSV"),
    "action.audit": ("访问记录", "Audit log"),
    "filter.status": ("状态", "Status"),
    "filter.all": ("全部", "All"),
    "filter.from": ("开始日期", "From"),
    "filter.to": ("结束日期", "To"),
    "filter.community": ("社区", "Community"),
    "filter.all_communities": ("全部社区", "All communities"),
    "filter.kind": ("类别", "Kind"),
    "filter.q": ("居民姓名、编号或终端号", "Resident name or id, or terminal id"),
    "history.title": ("历史警情", "Alarm history"),
    "history.none": ("没有符合条件的警情", "No alarms match"),
    "col.time": ("时间", "Time"),
    "col.status": ("状态", "Status"),
    "col.outcome": ("处置结果", "Outcome"),
    "col.closed_by": ("结案人", "Closed by"),
    "reports.title": ("服务承诺统计（每日、分社区）", "The promise kept: daily, per community"),
    "reports.target": ("目标 {pct}%", "target {pct}%"),
    "reports.answer_60": ("60秒内接警率（%）", "Answered within 60 s (%)"),
    "reports.answer_180": ("180秒内接警率（%）", "Answered within 180 s (%)"),
    "reports.attend_45": ("45分钟内到场率（%）", "Reached within 45 min (%)"),
    "reports.median": ("接警时间中位数（秒）", "Median time to answer (s)"),
    "reports.emergencies": ("紧急求助（起）", "Emergencies"),
    "reports.service": ("生活服务：请求 / 完成", "Service requests / done"),
    "reports.checkins": ("未按时报平安（次）", "Missed check-ins"),
    "reports.offline": ("终端离线（分钟）", "Terminals offline (minutes)"),
    "reports.requests": ("请求", "requests"),
    "reports.done": ("完成", "done"),
    "reports.none": ("所选范围内没有数据", "Nothing in this range"),
    "col.date": ("日期", "Date"),
    "col.community": ("社区", "Community"),
    "col.emergencies": ("紧急求助", "Emergencies"),
    "col.answer_60": ("60秒内接警", "Answered ≤60 s"),
    "col.answer_180": ("180秒内接警", "Answered ≤180 s"),
    "col.median": ("中位数（秒）", "Median (s)"),
    "col.attend_45": ("45分钟内到场", "Reached ≤45 min"),
    "col.service": ("服务请求", "Service requests"),
    "col.service_done": ("服务完成", "Service done"),
    "col.checkins": ("未报平安", "Missed check-ins"),
    "col.terminals_offline": ("离线终端", "Terminals offline"),
    "col.offline_minutes": ("离线分钟", "Offline minutes"),
    "audit.title": ("居民档案访问记录", "Who viewed or changed a resident's record"),
    "audit.resident": ("居民编号（留空看全部）", "Resident id (empty: everyone)"),
    "audit.none": ("没有访问记录", "No lines"),
    "col.who": ("操作人", "Who"),
    "col.action": ("操作", "Action"),
    "col.alarm": ("警情", "Alarm"),
    "col.address_from": ("来源地址", "From"),
    "col.detail": ("详情", "Detail"),
    "audit.view_resident": ("查看居民档案", "Viewed the record"),
    "audit.view_alarm": ("查看警情（含档案）", "Viewed an alarm with the record"),
    "audit.edit_resident": ("修改居民档案", "Changed the record"),
    "audit.edit_workers": ("修改社区工作者", "Changed the workers"),
    "audit.edit_checkin": ("修改报平安设置", "Changed the check-in"),
    "audit.export_alarms": ("导出警情", "Exported alarms"),
    "error.action": ("操作失败：{msg}", "That did not work: {msg}"),
    # --- operators' calls from the alarm view (docs/api.md) -----------------------
    "action.call": ("拨打", "Call"),
    "call.ringing_you": (
        "正在呼叫您的电话 {phone}，接听后为您接通{name}",
        "Ringing your phone {phone}; answer it to be put through to {name}",
    ),
    "call.log_only": (
        "未配置电话服务：这次呼叫只写入了日志，不会真正拨出",
        "No voice provider is configured: this call was only logged, not placed",
    ),
    "call.no_provider": ("本进程不能拨打电话", "This process cannot place calls"),
    "call.no_alarm": ("没有编号为{id}的警情", "There is no alarm {id}"),
    "call.no_operator_phone": (
        (
            "您的账号（{user}）没有登记电话号码，无法先接通您。"
            "请管理员执行：dispatcher user phone {user} +86……"
        ),
        (
            "Your account ({user}) has no phone number to ring first. "
            "An administrator sets it with: dispatcher user phone {user} +86..."
        ),
    ),
    "call.no_party_phone": ("{name}没有登记电话号码", "{name} has no phone number"),
    "call.no_such_party": (
        "这起警情没有可拨打的对象“{target}”",
        "This alarm has nobody to call as “{target}”",
    ),
    "call.provider_failed": ("电话未能拨出：{msg}", "The call could not be placed: {msg}"),
    "call.to.resident": ("居民", "resident"),
    "call.to.contact": ("联系人", "contact"),
    "call.to.worker": ("社区工作者", "community worker"),
    "call.to.provider": ("服务商", "provider"),
    "call.outcome.completed": ("已接听", "answered"),
    "call.outcome.busy": ("忙线", "busy"),
    "call.outcome.no-answer": ("无人接听", "no answer"),
    "call.outcome.failed": ("未能接通", "could not be reached"),
    "call.outcome.canceled": ("已取消", "cancelled"),
    "call.outcome.not_connected": ("未接通对方", "nobody was put through"),
    "call.line.placed": (
        "先拨{operator}的电话，再接通{name}（{role}）",
        "{operator}'s phone first, then {name} ({role})",
    ),
    "call.line.log_only": ("仅写入日志，未拨出", "only logged, not placed"),
    "call.line.connected": ("{name}（{role}）已接听", "{name} ({role}) answered"),
    "call.line.talked": (
        "{name}（{role}）接听，通话{duration}",
        "{name} ({role}) answered and talked for {duration}",
    ),
    "call.line.unanswered": ("{name}（{role}）：{outcome}", "{name} ({role}): {outcome}"),
    "call.line.operator": ("{operator}的电话：{outcome}", "{operator}'s phone: {outcome}"),
    "call.duration.ms": ("{m}分{s}秒", "{m} min {s} s"),
    "call.duration.s": ("{s}秒", "{s} s"),
    "log.call_placed": ("拨打电话", "Call"),
    "log.call_connected": ("通话接通", "Call connected"),
    "log.call_ended": ("通话结束", "Call ended"),
    "log.call_failed": ("电话未能拨出", "Call not placed"),
    "call.say_connecting": (
        "一键通接警台：正在为您接通{name}，请稍候。",
        "One-touch dispatch: putting you through to {name}, please hold.",
    ),
    "call.say_unanswered": ("{name}没有接听。再见。", "{name} did not answer. Goodbye."),
    # --- SIA DC-09 terminals (docs/protocol.md): protocols, Contact ID and SIA codes --------
    "protocol.mqtt": ("一键通协议终端", "MQTT terminal"),
    "protocol.dc09": ("第三方报警终端（DC-09）", "SIA DC-09 terminal"),
    "log.device_report": ("终端报告", "Terminal report"),
    "cid.restore": ("（恢复）", "(restored)"),
    "cid.unknown": ("未知代码", "unknown code"),
    "cid.100": ("医疗求助", "Medical emergency"),
    "cid.101": ("个人紧急求助", "Personal emergency"),
    "cid.102": ("未按时报到", "Fail to report in"),
    "cid.103": ("医疗求助（3）", "Medical emergency (3)"),
    "cid.104": ("医疗求助（4）", "Medical emergency (4)"),
    "cid.105": ("医疗求助（5）", "Medical emergency (5)"),
    "cid.106": ("医疗求助（6）", "Medical emergency (6)"),
    "cid.107": ("医疗求助（7）", "Medical emergency (7)"),
    "cid.108": ("医疗求助（8）", "Medical emergency (8)"),
    "cid.109": ("医疗求助（9）", "Medical emergency (9)"),
    "cid.110": ("火警", "Fire alarm"),
    "cid.111": ("烟感报警", "Smoke"),
    "cid.112": ("燃烧报警", "Combustion"),
    "cid.113": ("水流报警", "Water flow"),
    "cid.114": ("温感报警", "Heat"),
    "cid.115": ("手动火警", "Pull station"),
    "cid.116": ("风管报警", "Duct"),
    "cid.117": ("火焰报警", "Flame"),
    "cid.118": ("疑似火警", "Fire near alarm"),
    "cid.120": ("紧急报警", "Panic alarm"),
    "cid.121": ("胁迫报警", "Duress"),
    "cid.122": ("无声紧急报警", "Silent panic"),
    "cid.123": ("有声紧急报警", "Audible panic"),
    "cid.124": ("胁迫进入", "Duress access granted"),
    "cid.125": ("胁迫出门", "Duress egress granted"),
    "cid.126": ("紧急报警（6）", "Panic (6)"),
    "cid.127": ("紧急报警（7）", "Panic (7)"),
    "cid.128": ("紧急报警（8）", "Panic (8)"),
    "cid.129": ("紧急报警（9）", "Panic (9)"),
    "cid.130": ("防盗报警", "Burglary"),
    "cid.131": ("周界报警", "Perimeter"),
    "cid.132": ("室内报警", "Interior"),
    "cid.133": ("24小时防区报警", "24-hour zone"),
    "cid.134": ("出入口报警", "Entry/exit"),
    "cid.135": ("日夜防区报警", "Day/night"),
    "cid.136": ("室外报警", "Outdoor"),
    "cid.137": ("防拆报警", "Tamper (burglary)"),
    "cid.138": ("疑似入侵", "Near alarm"),
    "cid.140": ("一般报警", "General alarm"),
    "cid.144": ("探测器被拆", "Sensor tamper"),
    "cid.150": ("24小时非盗警", "24-hour non-burglary"),
    "cid.151": ("燃气泄漏", "Gas detected"),
    "cid.154": ("漏水", "Water leakage"),
    "cid.301": ("交流电断电", "AC power lost"),
    "cid.302": ("主机电池电量低", "Low system battery"),
    "cid.309": ("电池测试失败", "Battery test failure"),
    "cid.311": ("电池丢失或失效", "Battery missing or dead"),
    "cid.350": ("通信故障", "Communication trouble"),
    "cid.383": ("探测器被拆", "Sensor tamper"),
    "cid.384": ("无线设备电量低", "RF low battery"),
    "cid.400": ("撤防/布防", "Open/close"),
    "cid.401": ("用户撤防/布防", "Open/close by user"),
    "cid.406": ("取消", "Cancel"),
    "cid.570": ("防区旁路", "Zone bypass"),
    "cid.602": ("定期测试", "Periodic test report"),
    "cid.627": ("进入编程", "Program mode entry"),
    "sia.AR": ("交流电恢复", "AC restoral"),
    "sia.AT": ("交流电故障", "AC trouble"),
    "sia.BA": ("防盗报警", "Burglary alarm"),
    "sia.BR": ("防盗恢复", "Burglary restoral"),
    "sia.CL": ("布防报告", "Closing report"),
    "sia.FA": ("火警", "Fire alarm"),
    "sia.FR": ("火警恢复", "Fire restoral"),
    "sia.GA": ("燃气报警", "Gas alarm"),
    "sia.HA": ("胁迫报警", "Hold-up alarm"),
    "sia.KA": ("高温报警", "Heat alarm"),
    "sia.MA": ("医疗求助", "Medical alarm"),
    "sia.OC": ("取消报告", "Cancel report"),
    "sia.OP": ("撤防报告", "Opening report"),
    "sia.PA": ("紧急报警", "Panic alarm"),
    "sia.QA": ("紧急求助", "Emergency alarm"),
    "sia.RP": ("自动测试", "Automatic test"),
    "sia.RX": ("手动测试", "Manual test"),
    "sia.TA": ("防拆报警", "Tamper alarm"),
    "sia.TR": ("防拆恢复", "Tamper restoral"),
    "sia.WA": ("水浸报警", "Water alarm"),
    "sia.XT": ("发射器电池故障", "Transmitter battery trouble"),
    "sia.YT": ("主机电池故障", "System battery trouble"),
    # --- the responder's page, opened from the link in an SMS (docs/api.md) --------
    "via.link": ("短信链接", "link"),
    "audit.view_responder": ("通过短信链接查看警情", "Viewed an alarm by its SMS link"),
    "audit.view_pause_reason": ("查看暂停报平安的原因", "Viewed a check-in pause's reason"),
    # who opened a responder link, as the audit page names them
    "role.worker": ("社区工作者", "Community worker"),
    "role.contact": ("联系人", "Contact"),
    "role.provider": ("服务商", "Provider"),
    "responder.title": ("一键通 · 出警", "One-touch · on the way"),
    "responder.hello": ("{name}，您好", "Hello, {name}"),
    "responder.since": ("{time}起 · {minutes}分钟前", "since {time} · {minutes} min ago"),
    "responder.where": ("地址", "Address"),
    "responder.map": ("在地图上打开", "Open in maps"),
    "responder.no_location": ("没有位置坐标，请按地址前往", "No coordinates: go by the address"),
    "responder.phone": ("居民电话", "The resident's phone"),
    "responder.no_phone": ("居民没有登记电话", "The resident has no phone on record"),
    "responder.medical": ("健康信息", "Medical notes"),
    "responder.medical_none": ("没有记录", "None recorded"),
    "responder.service": ("所需服务：{what}", "Asked for: {what}"),
    "responder.taken_by": ("已由{who}接手", "Taken by {who}"),
    "responder.not_taken": ("还没有人接手", "Nobody has taken it yet"),
    "responder.arrived_by": ("{who}已到达现场", "{who} is at the door"),
    "responder.others": ("还通知了", "Also asked"),
    "responder.nobody_else": ("没有通知其他人", "Nobody else was asked"),
    "responder.declined": ("去不了", "cannot go"),
    "responder.closed": ("这起求助已处理完毕，谢谢。", "This call for help is closed. Thank you."),
    "responder.or_reply": (
        "也可以回复短信：1 我去，2 去不了，3 已到达",
        "You can also reply to the SMS: 1 going, 2 cannot, 3 at the door",
    ),
    "responder.or_reply_provider": (
        "也可以回复短信：1 接单，2 不能接，4 完成",
        "You can also reply to the SMS: 1 accept, 2 cannot, 4 done",
    ),
    "responder.button.take": ("我去", "I'm going"),
    "responder.button.decline": ("去不了", "I can't"),
    "responder.button.arrived": ("已到达", "I'm at the door"),
    "responder.button.done": ("完成", "Done"),
    "responder.provider.take": ("接单", "I accept"),
    "responder.done.take": (
        "已记录：由您前往。到达后请点“已到达”。",
        "Recorded: you are going. Press “I'm at the door” when you are there.",
    ),
    "responder.done.service_accepted": (
        "已记录：由您接单。",
        "Recorded: you accepted the request.",
    ),
    "responder.done.decline": (
        "已收到，我们将联系其他人。",
        "Understood: we will contact someone else.",
    ),
    "responder.done.arrive": (
        "已记录您到达现场，谢谢！",
        "Recorded: you are at the door. Thank you.",
    ),
    "responder.done.service_done": (
        "已记录服务完成，谢谢！",
        "Recorded: the service is done. Thank you.",
    ),
    "responder.gone": ("链接无效或已过期", "This link is not valid or has expired"),
    "responder.too_many": (
        "请求过于频繁，请一分钟后再试",
        "Too many requests: try again in a minute",
    ),
    "responder.lang": ("English", "中文"),
    # --- the wallboard and the map (docs/api.md) -------------------------------------
    "wall.title": ("大屏", "Wallboard"),
    "wall.open_emergencies": ("未结案紧急求助", "Emergencies open"),
    "wall.longest_wait": ("最长未接警等待", "Longest wait untaken"),
    "wall.nobody_waits": ("无人等待", "Nobody waiting"),
    "wall.answered_60": ("今日60秒内接警", "Answered within 60 s today"),
    "wall.answered_180": ("今日180秒内接警", "Answered within 180 s today"),
    "wall.attended_45": ("今日45分钟内到场", "Reached within 45 min today"),
    "wall.target": ("目标 {pct}%", "target {pct}%"),
    "wall.no_data": ("今日暂无", "none yet today"),
    "wall.emergencies_today_label": ("今日紧急求助", "Emergencies today"),
    "wall.terminals_offline": ("离线终端", "Terminals offline"),
    "wall.checkins_missed": ("今日未报平安", "Check-ins missed today"),
    "wall.communities": ("各社区", "Communities"),
    "wall.col.community": ("社区", "Community"),
    "wall.col.open": ("未结案警情", "Open alarms"),
    "wall.col.on_shift": ("在岗社区工作者", "Workers on shift"),
    "wall.nobody_on_shift": ("无人在岗", "nobody on shift"),
    "wall.updated": ("更新于 {time}", "Updated {time}"),
    "wall.mmss": ("{m}分{s}秒", "{m} min {s} s"),
    "nav.wall": ("大屏", "Wall"),
    "nav.map": ("地图", "Map"),
    "map.title": ("地图", "Map"),
    "map.legend": ("图例", "Legend"),
    "map.offline": ("离线终端", "Terminal offline"),
    "map.no_tiles": (
        "未配置地图底图：按经纬度显示位置",
        "No map tiles configured: places shown by their coordinates",
    ),
    "map.no_place": ("没有位置", "no location"),
    "map.list": ("未结案警情与离线终端", "Open alarms and terminals offline"),
    "map.count": (
        "未结案警情{alarms}起 · 离线终端{offline}台",
        "{alarms} open alarms · {offline} terminals offline",
    ),
    "map.open": ("打开警情", "Open the alarm"),
    "map.none": ("没有未结案警情，也没有离线终端", "No open alarm, no terminal offline"),
}
