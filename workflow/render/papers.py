"""The papers printed: one self-contained A4 page of HTML per paper (title centred, number,
addressee, body, seal area, date), and a PDF printed from it by WeasyPrint. Every value is
escaped: stored data is text, never markup. The same content gives the same bytes."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_STYLE = """\
@page { size: A4; margin: 25mm 20mm; }
body { font-family: "Noto Serif CJK SC", "SimSun", serif; font-size: 12pt; line-height: 1.8;
       color: #000; max-width: 170mm; margin: 0 auto; }
h1 { text-align: center; font-size: 20pt; margin: 0 0 4mm; letter-spacing: 1pt; }
.number { text-align: right; margin-bottom: 8mm; }
p { text-indent: 2em; margin: 0 0 2mm; }
p.to { text-indent: 0; }
table { border-collapse: collapse; width: 100%; margin: 4mm 0; }
th, td { border: 1px solid #000; padding: 1mm 2mm; }
td.num { text-align: right; }
.seal { margin-top: 18mm; margin-left: 55%; text-align: center; }
.replaces { font-size: 10pt; margin-top: 8mm; text-indent: 0; }
"""


def rmb_capitals(amount: Decimal) -> str:
    """An amount in capital numerals (人民币大写) by cn2an's RMB mode: 0.05 → 伍分,
    10.00 → 壹拾元整, 100000.01 → 壹拾万元零壹分; 0 → 零元整."""
    import cn2an  # type: ignore[import-untyped]

    if amount == 0:
        return "零元整"
    return str(cn2an.an2cn(f"{amount:.2f}", "rmb"))


def date_zh(value: str) -> str:
    """``2026-12-02`` → ``2026年12月2日``."""
    d = dt.date.fromisoformat(value)
    return f"{d.year}年{d.month}月{d.day}日"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _money(value: str) -> str:
    amount = Decimal(value)
    return f"{amount:,.2f} 元（人民币大写：{_e(rmb_capitals(amount))}）"


def _agency_lines(party: Mapping[str, Any]) -> list[str]:
    lines = [f"{_e(party['name'])}（机构代码 {_e(party['code'])}）"]
    if party.get("address"):
        lines.append(f"地址：{_e(party['address'])}")
    if party.get("telephone"):
        lines.append(f"电话：{_e(party['telephone'])}")
    return lines


def _body(c: Mapping[str, Any]) -> list[str]:
    kind, person = c["kind"], c["person"]
    who = f"{_e(person['name'])}（公民身份号码 {_e(person['id_number'])}）"
    insurance = "基本养老保险" if c["insurance"] == "pension" else "基本医疗保险"
    if kind == "contact_letter":
        dest = c["destination"]
        out = [f'<p class="to">{_e(c["origin"]["name"])}：</p>',
               f"<p>参保人员{who}申请将{insurance}关系转入我处（业务流水号 {_number(c)}）。"
               "经审核，符合转移接续条件，请贵处按规定办理转出手续，并将参保缴费信息表及转移基金"
               "转至我处。</p>",
               "<p>转入地经办机构：" + "；".join(_agency_lines(dest)) + "</p>"]
        account = dest.get("account")
        if account:
            out.append(f"<p>基金接收账户：户名 {_e(account['name'])}；开户银行 "
                       f"{_e(account['bank'])}；账号 {_e(account['number'])}</p>")
        return out
    if kind == "information_form":
        return _form(c, who)
    if kind == "refusal_explanation":
        out = [f'<p class="to">{_e(person["name"])}：</p>',
               f"<p>您（{who}）提交的{insurance}关系转移接续申请（业务流水号 {_number(c)}），"
               "经审核不符合受理条件，不予受理。理由如下：</p>",
               *[f"<p>{_e(line)}</p>" for line in str(c["reason"]).splitlines() if line.strip()]]
        if c.get("remedies"):
            out.append(f"<p>{_e(c['remedies'])}</p>")
        return out
    if kind == "one_time_notice":
        items = "".join(f"<li>{_e(d['title'])}</li>" for d in c["documents"])
        return [f'<p class="to">{_e(person["name"])}：</p>',
                f"<p>您（{who}）申请办理的{insurance}关系转移接续（业务流水号 {_number(c)}），"
                "尚需一次性补充以下材料：</p>", f"<ol>{items}</ol>"]
    to = "用人单位" if c["addressee"] == "employer" else _e(person["name"])
    return [f'<p class="to">{to}：</p>',
            f"<p>参保人员{who}的{insurance}关系已由{_e(c['origin']['name'])}转入"
            f"{_e(c['destination']['name'])}，接续手续已办结（业务流水号 {_number(c)}）。"
            f"累计缴费月数 {_e(c['months'])} 个月。</p>"]


def _form(c: Mapping[str, Any], who: str) -> list[str]:
    form = c["form"]
    out = [f'<p class="to">{_e(c["destination"]["name"])}：</p>',
           f"<p>参保人员{who}的参保缴费信息如下（业务流水号 {_number(c)}）：</p>"]
    if c["insurance"] == "pension":
        rows = "".join(
            f'<tr><td>{r["year"]}</td><td class="num">{r["months"]}</td>'
            f'<td class="num">{Decimal(r["monthly_base"]):,.2f}</td>'
            f'<td class="num">{Decimal(r["pooled"]):,.2f}</td></tr>' for r in form["rows"])
        out.append("<table><tr><th>年度</th><th>缴费月数</th><th>月缴费基数（元）</th>"
                   f"<th>统筹基金（元）</th></tr>{rows}</table>")
        out += [f"<p>个人账户储存额：{_money(form['personal_account'])}</p>",
                f"<p>统筹基金转移额：{_money(form['pooled_fund'])}</p>",
                f"<p>转移基金合计：{_money(form['total'])}</p>",
                f"<p>缴费月数合计：{form['months']} 个月</p>"]
        return out
    return [*out,
            f"<p>转出险种：{_e(form.get('origin_scheme'))}；转入险种："
            f"{_e(form.get('destination_scheme'))}</p>",
            f"<p>个人账户余额：{_money(form['personal_account'])}</p>",
            f"<p>实际缴费月数 {form['months_actual']} 个月，视同缴费月数 "
            f"{form['months_deemed']} 个月，合计 {form['months']} 个月。</p>"]


def render_paper_html(content: Mapping[str, Any]) -> str:
    """One paper as a self-contained A4 HTML page."""
    c = content
    replaces = ""
    if c.get("replaces"):
        replaces = (f'<p class="replaces">本件更正并替代第{_e(c["replaces"]["number"])}号，'
                    f'原因：{_e(c["replaces"]["reason"])}</p>')
    return "\n".join([
        '<!DOCTYPE html>', '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{_e(c['title'])} {_e(c['number'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(c['title'])}</h1>", f'<div class="number">{_e(c["number"])}</div>',
        *_body(c),
        f'<div class="seal">{_e(c["issuer"]["name"])}（盖章）<br>{date_zh(c["issued_on"])}'
        f'<br>经办人：{_e(c["clerk"])}</div>', replaces, "</body></html>", ""])


def render_paper_pdf(page: str) -> bytes:
    """The PDF of a paper's HTML (WeasyPrint; Noto CJK fonts embedded, text extractable)."""
    import weasyprint  # type: ignore[import-untyped]

    pdf: bytes = weasyprint.HTML(string=page).write_pdf()
    return pdf


__all__ = ["date_zh", "render_paper_html", "render_paper_pdf", "rmb_capitals"]


def _number(content: Mapping[str, Any]) -> str:
    """The case as a paper names it: its public number (papers issued before there was
    one name the internal case number)."""
    return _e(str(content.get("case_number") or content["case_id"]))
