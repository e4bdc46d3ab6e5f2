"""The demo's copy: blog posts, products, forms, lists and the Green Spoon wording of the
flows' starter emails."""

import datetime
from decimal import Decimal

HOME = {
    "title": "Green Spoon",
    "intro": "Grow it, cook it, share it. Seasonal notes from the kitchen garden, a free "
    "e-book, and a small shop of seeds and kitchen tools.",
    "ebook_blurb": "Five rules for planning, sowing and harvesting a kitchen garden that "
    "feeds you from May to October.",
}

EBOOK_TITLE = "The Kitchen Garden Handbook"
EBOOK_LINES = [
    "A free e-book from Green Spoon.",
    "",
    "1. Choose the sunniest spot you have: six hours of sun is enough for most vegetables.",
    "2. Start small: one raised bed of 120 x 240 cm feeds a household with salad all summer.",
    "3. Sow little and often: a row of lettuce every two weeks beats one big glut.",
    "4. Grow what you cook: herbs, tomatoes, beans and courgettes pay back fastest.",
    "5. Feed the soil, not the plant: a layer of compost each autumn is all a bed needs.",
    "",
    "Happy growing, and see you in the kitchen.",
]


def _post(title, slug, date, intro, body):
    return {"title": title, "slug": slug, "date": date, "intro": intro, "body": body}


TOPICS = [
    {
        "title": "Gardening",
        "slug": "gardening",
        "intro": "Raised beds, seed starting and the small jobs that make a kitchen garden work.",
        "posts": [
            _post(
                "Starting tomatoes from seed",
                "starting-tomatoes-from-seed",
                datetime.date(2026, 3, 2),
                "Eight weeks before the last frost is the moment. Here is how.",
                [
                    (
                        "paragraph",
                        "<p>Tomatoes need warmth and light more than anything. "
                        "Sow two seeds per small pot, 5 mm deep, and keep them at 20 °C.</p>",
                    ),
                    ("heading", "Pricking out"),
                    (
                        "paragraph",
                        "<p>When the first true leaves show, keep the stronger "
                        "seedling and pot it on, burying the stem up to the leaves.</p>",
                    ),
                    ("tip", "Brush the seedlings with your hand every day: they grow sturdier."),
                ],
            ),
            _post(
                "A raised bed in one weekend",
                "a-raised-bed-in-one-weekend",
                datetime.date(2026, 4, 11),
                "Cedar boards, a drill and a trailer of compost: that is all it takes.",
                [
                    (
                        "paragraph",
                        "<p>Lay the boards out on level ground, screw the corners "
                        "and line the bottom with cardboard to stop the grass.</p>",
                    ),
                    ("heading", "Filling it"),
                    (
                        "paragraph",
                        "<p>Two parts topsoil to one part compost. Water it well "
                        "and let it settle for a week before you plant.</p>",
                    ),
                ],
            ),
        ],
    },
    {
        "title": "Cooking",
        "slug": "cooking",
        "intro": "Simple seasonal recipes for whatever the garden gives you.",
        "posts": [
            _post(
                "Five-minute herb pesto",
                "five-minute-herb-pesto",
                datetime.date(2026, 6, 20),
                "Basil, parsley or wild garlic: the method is the same.",
                [
                    (
                        "paragraph",
                        "<p>Pound a clove of garlic with salt, add two handfuls "
                        "of leaves, a handful of toasted nuts and grated hard cheese.</p>",
                    ),
                    ("tip", "Loosen with olive oil until it falls slowly from the spoon."),
                ],
            ),
            _post(
                "Roast tomato soup",
                "roast-tomato-soup",
                datetime.date(2026, 8, 30),
                "What to do with the glut: roast everything, then blend.",
                [
                    (
                        "paragraph",
                        "<p>Halve a kilo of tomatoes, add onion and garlic, roast "
                        "at 200 °C for 40 minutes, then blend with stock.</p>",
                    ),
                    ("heading", "To serve"),
                    ("paragraph", "<p>A spoon of pesto and a slice of toasted bread.</p>"),
                ],
            ),
        ],
    },
]

SHOP = {
    "title": "Shop",
    "slug": "shop",
    "intro": "Seeds we grow ourselves and tools we use every day.",
    # (title, SKU, price, tile colour, summary, description)
    "products": [
        (
            "Heirloom tomato seeds",
            "SEED-TOM",
            Decimal("3.95"),
            "#c0392b",
            "Six varieties.",
            "<p>Brandywine, Green Zebra, Black Krim, San Marzano, Sungold and Yellow Pear: "
            "about 20 seeds of each, saved from our own plants.</p>",
        ),
        (
            "Basil & herb seed set",
            "SEED-HERB",
            Decimal("7.50"),
            "#5b8c5a",
            "Basil, dill, parsley, coriander.",
            "<p>Four packets for a windowsill or a sunny corner of the bed.</p>",
        ),
        (
            "Cedar raised-bed kit",
            "BED-120",
            Decimal("89.00"),
            "#a0522d",
            "120 × 240 cm, untreated cedar.",
            "<p>Pre-cut boards and stainless screws; assembled in an hour with a drill. "
            "30 cm deep, enough for tomatoes and roots.</p>",
        ),
        (
            "Stoneware mortar & pestle",
            "KIT-MORTAR",
            Decimal("24.00"),
            "#7f8c8d",
            "For pesto and spice pastes.",
            "<p>Unglazed inside for grip, 15 cm across, heavy enough to stay put.</p>",
        ),
    ],
}

# (label, field_type, required, clean_name)
SIGNUP_FIELDS = [
    ("Email", "email", True, "email"),
    ("First name", "singleline", False, "first_name"),
    ("Yes, email me the weekly newsletter", "checkbox", False, "consent"),
]

NEWSLETTER = {
    "title": "Newsletter",
    "slug": "newsletter",
    "intro": "<p>One email a week: what to sow, what to cook, and nothing else.</p>",
    "thank_you_text": (
        "<p>Almost on the list: we've emailed you a link. Confirm your address with it, "
        "and your welcome email is on its way.</p>"
    ),
    "fields": SIGNUP_FIELDS,
}

LANDING = {
    "title": "10% off",
    "slug": "ten-percent-off",
    "headline": "Get 10% off your first order",
    "intro": "<p>Sign up and we send you a code for 10% off anything in the shop.</p>",
    "discount_code": "WELCOME10",
    "thank_you_text": (
        "<p>Use it at checkout. Confirm your address with the link we've just emailed you, "
        "and we'll email you the code too.</p>"
    ),
    "fields": [
        ("Email", "email", True, "email"),
        ("First name", "singleline", False, "first_name"),
        ("Yes, send me the code and occasional offers", "checkbox", False, "consent"),
    ],
}

CONTACT_LISTS = [
    ("Newsletter", "Weekly gardening and cooking newsletter.", True),
    ("Customers", "Everyone who has placed an order.", False),
    ("Visitor subscribers", "Signed up for 10% off and not ordered yet.", False),
    ("Primary subscribers", "Newsletter readers who clicked in their welcome emails.", False),
]


def _email(slug, subject, preheader, heading, paragraphs, button=None, extras=()):
    """``extras``: further body blocks ``(block type, raw value)``, used when offered;
    ``button``: (label, URL with {ebook_url}, {home_url}, {shop_url} or {cart_url})."""
    return {
        "slug": slug,
        "subject": subject,
        "preheader": preheader,
        "heading": heading,
        "paragraphs": paragraphs,
        "button": button,
        "extras": extras,
    }


# The demo's own wording for some of the starter emails its flows' templates bring (see
# demo.flows.DEMO_FLOWS); the other starter emails keep the templates' sample copy.
EMAILS = [
    _email(
        "welcome",
        "Welcome to Green Spoon, {{ contact.first_name }}",
        "What to expect from us, and a free e-book to start with.",
        "Welcome to the kitchen garden",
        [
            "Thanks for signing up. Every Friday we send one short email: what to sow this "
            "week, and one recipe for what is ready to pick.",
            "To start, here is our free e-book, The Kitchen Garden Handbook.",
        ],
        ("Download the e-book", "{ebook_url}"),
    ),
    _email(
        "welcome-best-of",
        "Our most-loved growing guides and recipes",
        "Start with these four, readers tell us.",
        "Where to start",
        [
            "Tomatoes from seed, a raised bed in a weekend, a five-minute pesto and a soup "
            "for the late-summer glut: the four posts our readers come back to.",
        ],
        ("Read the blog", "{home_url}"),
    ),
    _email(
        "code",
        "Your code: WELCOME10",
        "10% off anything in the shop, for your first order.",
        "Here is your 10% off",
        [
            "Use the code WELCOME10 at checkout for 10% off your first order.",
            "Seeds, raised-bed kits and kitchen tools: everything counts.",
        ],
        ("Visit the shop", "{shop_url}"),
        extras=[("coupon", {"code": "WELCOME10", "description": "10% off your first order"})],
    ),
    _email(
        "abandoned-cart",
        "You left something in your cart",
        "Your cart is saved; finish your order whenever you like.",
        "Still thinking it over?",
        [
            "We kept your cart for you. If you have a question about a product, just reply "
            "to this email: a person reads every one.",
        ],
        ("Back to my cart", "{cart_url}"),
        extras=[("product_cards", {"source": "cart", "heading": "Still in your cart"})],
    ),
    _email(
        "ebook",
        "Your copy of The Kitchen Garden Handbook",
        "Keep it handy, and three ideas to put it to work this week.",
        "Happy growing!",
        [
            "Here is your copy of The Kitchen Garden Handbook: five rules for a kitchen "
            "garden that feeds you from May to October.",
            "If you are starting this season, our cedar raised-bed kit is the quickest way "
            "to a first harvest.",
        ],
        ("Download the handbook", "{ebook_url}"),
    ),
]
EMAIL_COPY = {spec["slug"]: spec for spec in EMAILS}
