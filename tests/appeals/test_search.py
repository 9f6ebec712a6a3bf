from django.urls import reverse

from apps.appeals.models import Appeal
from apps.appeals.search import index_text, query_tokens
from apps.appeals.selectors import appeal_search
from tests.factories import make_appeal


def test_bigrams_find_two_character_words_and_numbers():
    text = index_text("小区门口有人长期占道经营", "滨江路12号")
    assert "占道" in text.split() and "经营" in text.split() and "12" in text.split()
    assert query_tokens("占道 经营 的") == ["占道", "经营"]  # single characters are too common to search


def test_search_by_tracking_number_phone_and_words(org, catalog, operator):
    noise = make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], phone="13900000000", content="夜间施工噪音扰民"
    )
    target = make_appeal(
        operator=operator,
        category=catalog["leaf"],
        area=org["street"],
        phone="13811112222",
        content="小区门口有人长期占道经营，影响通行",
        address="滨江路12号",
    )
    qs = Appeal.objects.all()
    assert list(appeal_search(qs, target.tracking_number)) == [target]
    assert list(appeal_search(qs, "13811112222", user=operator)) == [target]  # holds view_citizen_contact
    assert list(appeal_search(qs, "占道经营")) == [target]
    assert list(appeal_search(qs, "经营 滨江")) == [target]
    assert list(appeal_search(qs, "噪音")) == [noise]
    assert list(appeal_search(qs, "停水")) == []


def test_the_appeal_changelist_searches_words(client, org, catalog, operator):
    target = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], content="路灯损坏无人维修")
    make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], content="物业乱收费")
    client.force_login(operator)
    page = client.get(reverse("admin:appeals_appeal_changelist"), {"q": "路灯"})
    assert [a.pk for a in page.context["cl"].result_list] == [target.pk]
