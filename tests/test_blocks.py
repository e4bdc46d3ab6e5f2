"""The block vocabulary: every trigger, condition and step saves and loads unchanged, nests
as deep as documented, reads as a plain sentence, and triggers match the events they name."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.telepath import JSContext
from wagtail.documents import get_document_model
from wagtail.models import Collection

from tests.factories import ContactListFactory, make_email_page, make_form_page, make_standard_page
from wagtail_flows.flows import blocks, choosers
from wagtail_flows.flows.describe import describe
from wagtail_flows.flows.triggers import trigger_matches
from wagtail_flows.models import Event, Flow, Segment

pytestmark = pytest.mark.django_db


def child(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


@pytest.fixture
def objects():
    root = Collection.get_first_root_node()
    collection = root.add_child(name="E-books")
    document = get_document_model().objects.create(title="Guide", collection=collection)
    return {
        "page": make_standard_page("Pricing"),
        "form": make_form_page("Contact sales"),
        "email": make_email_page("Welcome"),
        "list": ContactListFactory(name="Customers"),
        "segment": Segment.objects.create(name="Hot leads"),
        "collection": collection,
        "document": document,
    }


def sample_triggers(o):
    return [
        child(
            "page_viewed",
            {
                "page": o["page"].pk,
                "include_descendants": True,
                "page_type": "testapp.standardpage",
                "min_views": 3,
                "count_visits": True,
                "within_days": 7,
            },
        ),
        child(
            "document_downloaded", {"document": o["document"].pk, "collection": o["collection"].pk}
        ),
        child("form_submitted", {"form_page": o["form"].pk}),
        child("order_placed", {"min_total": "50.00", "sku": "LENS-6", "first_order_only": True}),
        child("cart_abandoned", {"after_hours": 4}),
        child("list_joined", {"list": o["list"].pk}),
        child("segment_entered", {"segment": o["segment"].pk}),
        child("segment_left", {"segment": o["segment"].pk}),
        child("tag_added", {"tag": "vip"}),
        child("stage_changed", {"stage": "customer"}),
        child("score_reached", {"threshold": 50}),
        child("grade_becomes", {"grade": "A"}),
        child("inactive", {"days": 30, "activity": "email"}),
        child(
            "engagement",
            {
                "min_visits": 10,
                "within_days": 7,
                "min_open_rate": 40,
                "min_click_rate": None,
                "last_emails": 10,
            },
        ),
        child(
            "date_reached",
            {
                "date_source": "property",
                "property_name": "renewal_date",
                "offset_days": 3,
                "direction": "before",
            },
        ),
        child("email_engaged", {"engagement": "clicked", "email": o["email"].pk}),
        child("custom_event", {"name": "feature_used"}),
        child("property_changed", {"name": "plan", "from_value": "Free", "to_value": "Pro"}),
        child("manual"),
    ]


def sample_conditions(o):
    return [
        child("in_list", {"list": o["list"].pk}),
        child("has_tag", {"tag": "vip"}),
        child("stage_is", {"stage": "lead"}),
        child("score_at_least", {"score": 20}),
        child("grade_is", {"grades": ["A", "B"]}),
        child("property", {"name": "plan", "operator": "equals", "value": "pro"}),
        child("form_answer", {"field": "nps_score", "operator": "lte", "value": "6"}),
        child(
            "did_event",
            {
                "kind": "page_viewed",
                "name": "",
                "min_count": 2,
                "count_visits": True,
                "within_days": 7,
                "page": o["page"].pk,
                "page_type": "testapp.standardpage",
                "include_descendants": False,
                "sku": "",
            },
        ),
        child("opened_email", {"email": o["email"].pk, "within_days": 30}),
        child("clicked_email", {"email": None, "within_days": None}),
        child("has_ordered", {"within_days": 90, "min_total": "10.00", "sku": "LENS-6"}),
        child("is_subscribed"),
        child(
            "group",
            {
                "match": "any",
                "conditions": [
                    child("score_at_least", {"score": 50}),
                    child(
                        "group", {"match": "all", "conditions": [child("has_tag", {"tag": "x"})]}
                    ),  # noqa: E501
                ],
            },
        ),
        child("none_of", {"conditions": [child("has_tag", {"tag": "dormant"})]}),
    ]


def sample_steps(o, depth=0):
    leaves = [
        child("send_email", {"page": o["email"].pk, "subject_override": "Hi"}),
        child("wait", {"amount": 3, "unit": "days"}),
        child(
            "wait_until",
            {
                "time": "11:00:00",
                "weekdays": ["0", "2"],
                "timezone": "contact",
                "date_source": "",
                "date_key": "",
                "offset_days": 0,
            },
        ),
        child("add_to_list", {"list": o["list"].pk}),
        child("remove_from_list", {"list": o["list"].pk}),
        child("add_tag", {"tag": "vip"}),
        child("remove_tag", {"tag": "cold"}),
        child("set_stage", {"stage": "customer"}),
        child("change_score", {"delta": 10}),
        child(
            "notify",
            {"recipients": "sales@example.com", "subject": "Hot lead", "message": "Call them"},
        ),
        child("webhook", {"url": "https://crm.example.com/hook", "secret": "s3cret"}),
        child("exit", {"reason": "done"}),
    ]
    if depth >= 1:
        return leaves
    inner = sample_steps(o, depth + 1)
    branch = child(
        "branch",
        {
            "conditions": [child("has_tag", {"tag": "vip"})],
            "match": "all",
            "wait_up_to_amount": 2,
            "wait_up_to_unit": "days",
            "yes": inner,
            "no": [],
        },
    )
    split = child(
        "split",
        {
            "variants": [
                {
                    "type": "item",
                    "id": str(uuid.uuid4()),
                    "value": {"label": "A", "weight": 50, "steps": sample_steps(o, depth + 1)[:2]},
                },
                {
                    "type": "item",
                    "id": str(uuid.uuid4()),
                    "value": {"label": "B", "weight": 50, "steps": []},
                },
            ]
        },
    )
    return [*leaves, branch, split]


def round_trip(block, raw):
    return block.get_prep_value(block.to_python(raw))


def test_every_trigger_type_is_covered_by_the_samples(objects):
    assert {c["type"] for c in sample_triggers(objects)} == blocks.TRIGGER_TYPES
    assert {c["type"] for c in sample_conditions(objects)} == blocks.CONDITION_TYPES
    assert {c["type"] for c in sample_steps(objects)} == blocks.STEP_TYPES


@pytest.mark.parametrize(
    "block_class, samples",
    [
        (blocks.TriggersBlock, sample_triggers),
        (blocks.ConditionsBlock, sample_conditions),
        (blocks.StepsBlock, sample_steps),
    ],
)
def test_every_block_round_trips_to_the_same_json(objects, block_class, samples):
    raw = samples(objects)
    block = block_class()
    once = round_trip(block, raw)
    assert json.dumps(once, sort_keys=True) == json.dumps(round_trip(block, once), sort_keys=True)
    for original, saved in zip(raw, once, strict=True):
        assert saved["id"] == original["id"]
        assert saved["type"] == original["type"]


def test_saved_flow_keeps_block_ids_and_values(objects):
    flow = Flow.objects.create(
        name="Everything", triggers=sample_triggers(objects), steps=sample_steps(objects)
    )
    flow.refresh_from_db()
    branch = next(c for c in flow.steps if c.block_type == "branch")
    assert branch.value["yes"][0].block_type == "send_email"
    assert branch.value["yes"][0].value["page"].specific.title == "Welcome"
    split = next(c for c in flow.steps if c.block_type == "split")
    variant = split.value["variants"][0]
    assert variant["label"] == "A" and variant["steps"][1].value["amount"] == 3
    assert split.value["variants"].bound_blocks[1].id
    trigger = flow.triggers[3]
    assert trigger.value["min_total"] == Decimal("50.00")


def test_choosers_store_primary_keys_and_load_instances(objects):
    block = blocks.TriggersBlock()
    value = block.to_python([child("list_joined", {"list": objects["list"].pk})])
    assert value[0].value["list"] == objects["list"]
    assert block.get_prep_value(value)[0]["value"]["list"] == objects["list"].pk


def test_a_deleted_list_loads_as_empty_not_an_error(objects):
    raw = [child("add_to_list", {"list": objects["list"].pk})]
    objects["list"].delete()
    assert blocks.StepsBlock().to_python(raw)[0].value["list"] is None


def test_list_chooser_modal_lists_the_contact_lists(objects, admin_client):
    block = blocks.list_block(required=False)
    assert block.clean(objects["list"]) == objects["list"]
    url = reverse(choosers.contact_list_chooser.get_url_name("choose"))
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "Customers" in response.json()["html"]


def test_steps_nest_three_levels_deep_and_no_deeper():
    def nested(stream_block, depth):
        if "branch" not in stream_block.child_blocks:
            return depth
        return nested(stream_block.child_blocks["branch"].child_blocks["yes"], depth + 1)

    assert nested(blocks.StepsBlock(), 0) == blocks.MAX_NESTING
    split = blocks.StepsBlock().child_blocks["split"].child_blocks["variants"]
    assert "branch" in split.child_block.child_blocks["steps"].child_blocks


def test_the_editor_packs_the_whole_vocabulary_without_queries(objects, django_assert_num_queries):
    with django_assert_num_queries(0):
        packed = [
            json.dumps(JSContext().pack(block))
            for block in (blocks.TriggersBlock(), blocks.ConditionsBlock(), blocks.StepsBlock())
        ]
    assert all('"_type": "wagtail.blocks.StreamBlock"' in p for p in packed)
    # Nested levels share their block instances: the steps' definitions stay ~80 KB, not 400.
    assert len(packed[2]) < 150_000


@pytest.mark.parametrize(
    "raw, expected",
    [
        (("wait", {"amount": 3, "unit": "days"}), "Wait 3 days"),
        (("wait", {"amount": 1, "unit": "hours"}), "Wait 1 hour"),
        (("change_score", {"delta": -5}), "Subtract 5 points"),
        (("tag_added", {"tag": "vip"}), "Gets tag “vip”"),
        (("exit", {"reason": ""}), "Exit"),
        (("manual", None), "Enrolled by hand"),
        (("score_at_least", {"score": 20}), "Score at least 20"),
        (("property", {"name": "plan", "operator": "is_set", "value": ""}), "plan is set"),
    ],
)
def test_each_block_reads_as_a_sentence(raw, expected):
    assert describe(raw) == expected


def test_descriptions_name_the_chosen_objects(objects):
    steps = blocks.StepsBlock().to_python(sample_steps(objects))
    texts = [describe(c) for c in steps]
    assert texts[0] == "Send “Welcome” with subject “Hi”"
    assert "Add to “Customers”" in texts
    assert "Wait until a Mon/Wed, 11:00 (their time)" in texts
    assert texts[-2] == "If Has tag “vip” (waiting up to 2 days)"
    assert texts[-1] == "Split: A 50%, B 50%"
    triggers = blocks.TriggersBlock().to_python(sample_triggers(objects))
    assert describe(triggers[0]) == (
        "Views “Pricing” or a page below it (only standard pages) in 3 visits within 7 days"
    )
    assert describe(triggers[3]) == ("Places a first order of at least 50.00 containing LENS-6")


@pytest.mark.parametrize(
    "block_class, samples",
    [
        (blocks.TriggersBlock, sample_triggers),
        (blocks.ConditionsBlock, sample_conditions),
        (blocks.StepsBlock, sample_steps),
    ],
)
def test_every_block_type_has_its_own_sentence(objects, block_class, samples):
    for item in block_class().to_python(samples(objects)):
        text = describe(item)
        generic = item.block_type.replace("_", " ").capitalize()
        assert text and "None" not in text, item.block_type
        assert text != generic, item.block_type


def test_collection_chooser_modal_lists_collections(objects, admin_client):
    url = reverse(choosers.collection_chooser.get_url_name("choose"))
    assert "E-books" in admin_client.get(url).json()["html"]


# --- trigger matching ---------------------------------------------------------------------


def trigger(raw_type, value):
    return blocks.TriggersBlock().to_python([child(raw_type, value)])[0]


def event(contact, kind, **kwargs):
    return Event.objects.create(contact=contact, kind=kind, **kwargs)


def test_event_kinds_of_each_trigger():
    assert blocks.trigger_event_kinds("score_reached") == {"score_changed"}
    assert blocks.trigger_event_kinds("email_engaged") == {"email_opened", "link_clicked"}
    for sweep_or_manual in ("cart_abandoned", "inactive", "engagement", "date_reached", "manual"):
        assert blocks.trigger_event_kinds(sweep_or_manual) == set()


def test_page_viewed_counts_past_views_in_the_subtree(contact, objects):
    child_page = make_standard_page("Plans", parent=objects["page"])
    t = trigger(
        "page_viewed",
        {
            "page": objects["page"].pk,
            "include_descendants": True,
            "min_views": 3,
            "within_days": 7,
        },
    )
    now = timezone.now()
    event(contact, "page_viewed", page=objects["page"], created_at=now - timedelta(days=9))
    event(contact, "page_viewed", page=child_page, created_at=now - timedelta(days=1))
    second = event(contact, "page_viewed", page=objects["page"], created_at=now)
    assert not trigger_matches(t, second)
    third = event(contact, "page_viewed", page=child_page, created_at=now)
    assert trigger_matches(t, third)
    other = event(contact, "page_viewed", page=objects["form"], created_at=now)
    assert not trigger_matches(t, other)


def test_anonymous_events_never_start_a_flow(objects):
    t = trigger("page_viewed", {"page": None, "min_views": 1})
    assert not trigger_matches(t, Event.objects.create(kind="page_viewed"))


def test_document_trigger_matches_by_document_or_collection(contact, objects):
    doc = objects["document"]
    by_doc = trigger("document_downloaded", {"document": doc.pk, "collection": None})
    by_collection = trigger(
        "document_downloaded", {"document": None, "collection": objects["collection"].pk}
    )
    download = event(contact, "document_downloaded", object_id=str(doc.pk))
    assert trigger_matches(by_doc, download)
    assert trigger_matches(by_collection, download)
    other = get_document_model().objects.create(title="Other")
    assert not trigger_matches(
        by_collection, event(contact, "document_downloaded", object_id=other.pk)
    )


def test_order_trigger_checks_total_sku_and_first_order(contact):
    t = trigger("order_placed", {"min_total": "50", "sku": "LENS-6", "first_order_only": True})
    items = {"items": [{"sku": "LENS-6", "quantity": 1}]}
    small = event(contact, "order_placed", value=Decimal("20"), data=items)
    assert not trigger_matches(t, small)
    second = event(contact, "order_placed", value=Decimal("60"), data=items)
    assert not trigger_matches(t, second), "not their first order"
    any_order = trigger("order_placed", {"sku": "LENS-6"})
    assert trigger_matches(any_order, second)
    assert not trigger_matches(any_order, event(contact, "order_placed", data={}))


def test_form_list_tag_stage_and_custom_triggers(contact, objects):
    assert trigger_matches(
        trigger("form_submitted", {"form_page": objects["form"].pk}),
        event(contact, "form_submitted", page=objects["form"]),
    )
    joined = event(contact, "list_joined", object_id=str(objects["list"].pk), name="Customers")
    assert trigger_matches(trigger("list_joined", {"list": objects["list"].pk}), joined)
    assert trigger_matches(trigger("list_joined", {"list": None}), joined)
    assert trigger_matches(
        trigger("tag_added", {"tag": "VIP"}), event(contact, "tag_added", name="vip")
    )
    assert not trigger_matches(
        trigger("stage_changed", {"stage": "customer"}),
        event(contact, "stage_changed", name="lead"),
    )
    assert trigger_matches(
        trigger("custom_event", {"name": "feature_used"}),
        event(contact, "custom", name="feature_used"),
    )


def test_score_reached_fires_when_the_threshold_is_crossed(contact):
    t = trigger("score_reached", {"threshold": 50})
    crossing = event(contact, "score_changed", value=10, data={"delta": 10, "to": 55})
    above = event(contact, "score_changed", value=5, data={"delta": 5, "to": 60})
    assert trigger_matches(t, crossing)
    assert not trigger_matches(t, above)


def test_real_contact_actions_start_list_and_tag_triggers(contact, objects):
    contact.add_to_list(objects["list"])
    contact.add_tag("vip")
    joined = Event.objects.get(contact=contact, kind="list_joined")
    tagged = Event.objects.get(contact=contact, kind="tag_added")
    assert trigger_matches(trigger("list_joined", {"list": objects["list"].pk}), joined)
    assert trigger_matches(trigger("tag_added", {"tag": "vip"}), tagged)


def test_email_engaged_matches_opens_or_clicks_of_one_email(contact, objects):
    clicked = trigger("email_engaged", {"engagement": "clicked", "email": objects["email"].pk})
    assert trigger_matches(clicked, event(contact, "link_clicked", page=objects["email"]))
    assert not trigger_matches(clicked, event(contact, "email_opened", page=objects["email"]))
    other = make_email_page("Other")
    assert not trigger_matches(clicked, event(contact, "link_clicked", page=other))
