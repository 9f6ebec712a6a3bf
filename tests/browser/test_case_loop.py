"""The whole loop through the UI only, as each role would, in a real browser:

record → dispatch to a department other than the catalogue's suggestion, with a
co-handling department and a reason → sign → reveal and contact → extension requested and
decided by the leader who holds it → reply → review (the reply is on the page) → return
visit unsatisfied → reopened (the department sees why) → reply → accept → visit satisfied →
closed → the inspector reads the record and finds every step with names and labels.

It fails if an autocomplete loses its scripts (the dispatch cannot pick another
department), if the review page loses the reply, or if the reopen loses its reason.
Screenshots of each step go to var/screenshots/loop-*.png.
"""

import re

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = "张公桥社区菜市场门口占道摆摊，早晚高峰堵塞通行，希望整治。"
REPLY = "经现场核查，已清理占道摊点，并在路口设置临时疏导点。"
CO_REPLY = "已配合对摊贩开展食品安全检查。"
BASIS = "《嘉州市城市市容和环境卫生管理条例》第十四条"
WORDS = "第二天摊位又回来了，只是走了个过场。"
CAUSE_NOTE = "承办单位未建立长效巡查机制"


def _number(text: str) -> str:
    found = re.search(r"\d{8}-\d{6}", text)
    assert found, text
    return found.group(0)


def _open_work_order(w, number):
    w.open("/admin/")
    w.click("本部门未办结的工单", within="#workbench")
    w.click(number, within="#result_list")
    return w


def _sign_contact_reply(w, number, *, reply=REPLY, basis="", result="resolved", contact_note="电话联系市民"):
    _open_work_order(w, number)
    if w.has_link("签收", within="#desk-actions"):
        w.action("sign").submit("#action-form")
        assert "已签收" in w.messages()
    if w.has_link("记录联系诉求人情况", within="#desk-actions"):
        w.action("contact").choose("method", "phone").fill("note", contact_note).submit("#action-form")
        assert "已记录联系情况" in w.messages()
    w.action("reply").choose("result", result).fill("reply_text", reply)
    if basis:
        w.fill("policy_basis", basis)
    w.submit("#action-form")
    assert "已提交中心审核" in w.messages() or "审核" in w.messages(), w.messages() + w.errors()


def _review_all(w, number, expect_reply=()):
    """The dispatcher accepts every reply of the appeal waiting for review, each on a page
    that shows the reply (one of `expect_reply`)."""
    w.login("dispatcher")
    w.click("待审核的办结回复", within="#workbench")
    while w.has_link(number, within="#result_list"):
        w.open_row(number)
        w.action("review")
        shown = w.text("#panel-reply")
        assert any(reply in shown for reply in expect_reply), shown  # the reply the decision is on
        w.choose("decision", "accept").submit("#action-form")
        assert "审核通过" in w.messages(), w.messages() + w.errors()
        w.open("/admin/")
        w.click("待审核的办结回复", within="#workbench")


def _visit(w, number, **outcome):
    w.login("visitor", landing=True)
    assert "/admin/followups/visit/" in w.path  # the agent lands on the queue
    w.open_row(number)
    w.action("start").submit("#action-form")
    assert "请拨打" in w.messages() or "拨打" in w.messages(), w.messages()
    w.action("record")
    w.choose("resolved", outcome["resolved"]).choose("satisfaction", outcome["satisfaction"])
    w.fill("citizen_words", outcome["words"])
    if outcome.get("fault"):
        w.choose("fault", outcome["fault"]).fill("fault_note", outcome["note"])
    return w.submit("#action-form")


def test_the_whole_loop_through_the_ui_as_each_role(browser, demo_city):
    w = browser
    w.strict = True  # every page on the way: no error page, no refusal, no script error

    # Operator: records the appeal; told what happens next.
    w.login("operator")
    w.click("登记诉求", within="#workbench")
    w.choose("channel", "phone").choose("appeal_type", "complaint").choose("priority", "P2")
    w.pick_autocomplete("category", "占道", "占道经营")
    w.pick_autocomplete("area", "张公桥社区")
    w.fill("content", CONTENT).fill("citizen_name", "陈晓红").fill("citizen_phone", "13981234567")
    w.submit()
    number = _number(w.messages())
    assert "等待分办员" in w.messages()
    w.shot("loop-01-recorded", full=True)

    # Dispatcher: another lead than the catalogue's, a co-handling department, a reason.
    w.login("dispatcher")
    w.click("待派单", within="#workbench")
    w.click(number, within="#result_list")
    w.action("dispatch")
    suggested = w.text("#panel-suggestion")
    assert "嘉州市住房和城乡建设局" not in suggested  # the override is real
    w.pick_autocomplete("lead", "住房和城乡", "嘉州市住房和城乡建设局")
    w.pick_autocomplete("co", "市场监督", "嘉州市市场监督管理局")
    w.fill("override_reason", "占道摊点位于在建安置小区出入口，由住建局牵头处置")
    w.shot("loop-02-dispatch", full=True)
    w.submit("#action-form")
    assert "已派单" in w.messages() or "派单" in w.messages(), w.messages() + w.errors()

    # The co-handling department does its part.
    w.login("sunli_scjg")
    _sign_contact_reply(w, number, reply=CO_REPLY)

    # Lead department: sign, see the citizen's number (logged), contact, ask for more time.
    w.login("dept_staff")
    _open_work_order(w, number)
    assert "占道摊点位于在建安置小区出入口" in w.text()  # the dispatcher's reason reached them
    w.action("sign").submit("#action-form")
    w.action("reveal").fill("reason", "电话联系诉求人核实摊点位置").submit("#action-form")
    assert "13981234567" in w.messages()
    w.action("contact").choose("method", "phone").fill("note", "已电话联系，约定周三现场查看")
    w.submit("#action-form")
    w.action("request_extension").fill("days", "3").fill("reason", "需协调产权单位现场勘验")
    w.submit("#action-form")
    assert "赵志刚" in w.messages() and "部门负责人" in w.messages(), w.messages()  # who holds it
    assert "赵志刚" in w.text()  # and the work order says so too
    w.shot("loop-03-work-order", full=True)

    # Department leader: the request waits for them; they approve it.
    w.login("dept_leader")
    w.click("待我审批", within="#workbench")
    w.open_row(number)
    assert "需协调产权单位现场勘验" in w.text()
    w.click("同意")
    w.fill("comment", "同意延期三个工作日").submit("#action-form")
    assert "已同意" in w.messages() or "同意" in w.messages(), w.messages() + w.errors()

    # Lead department replies; the dispatcher reviews with the reply on the page.
    w.login("dept_staff")
    _sign_contact_reply(w, number, reply=REPLY, basis=BASIS, result="partly")
    _review_all(w, number, expect_reply=(REPLY, CO_REPLY))

    # Return visit: unsatisfied, within the department's control: reopened.
    _visit(w, number, resolved="no", satisfaction="unsatisfied", words=WORDS, fault="department", note=CAUSE_NOTE)
    assert "重办" in w.messages(), w.messages() + w.errors()

    # The department sees why on the list and the work order.
    w.login("dept_staff")
    w.click("本部门未办结的工单", within="#workbench")
    assert "重办 ×1" in w.text()
    w.click(number, within="#result_list")
    assert WORDS in w.text() and CAUSE_NOTE in w.text()
    w.shot("loop-04-reopened", full=True)
    w.phone()
    w.shot("loop-04-reopened-phone", full=True)
    w.desktop()
    _sign_contact_reply(w, number, reply="已安排每日早晚两次巡查，摊点已全部撤离。", contact_note="再次电话联系市民")
    _review_all(w, number, expect_reply=("已安排每日早晚两次巡查",))

    # Second visit: satisfied; the appeal closes.
    _visit(w, number, resolved="yes", satisfaction="satisfied", words="这次真的解决了，谢谢。")
    assert "已记录回访" in w.messages() or "回访" in w.messages(), w.messages() + w.errors()

    # Inspector: the whole record names every step, with names and labels.
    w.login("inspector")
    w.click("诉求全程追溯", within="#workbench")
    w.fill("q", number).submit("#changelist-search")
    w.click(number, within="#result_list")
    record = w.text()
    for step in ("诉求已登记", "诉求已派单", "工单已签收", "已联系诉求人", "已提交办结回复", "办结回复审核通过",
                 "回访后诉求重办", "工单重办", "诉求已办结"):
        assert step in record, step
    for person in ("王晓燕", "陈思远", "张伟", "赵志刚", "孙丽", "刘佳怡"):
        assert person in record, person
    assert "中心：回访" in record and "重办后的新时限" in record
    assert "同意延期三个工作日" in record
    w.shot("loop-05-inspector-record", full=True)
