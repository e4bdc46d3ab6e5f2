import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtailcore", "0001_initial"),
        ("wagtail_flows", "0006_deliverability_brake"),
    ]

    operations = [
        migrations.CreateModel(
            name="SenderSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "from_name",
                    models.CharField(
                        blank=True,
                        help_text="The name people see, e.g. your shop's. An email page may set its own.",
                        max_length=100,
                        verbose_name="sender name",
                    ),
                ),
                (
                    "from_email",
                    models.EmailField(
                        blank=True,
                        help_text="An address at the domain you checked in Settings › Sending domain. Empty: the site's default From address.",
                        max_length=254,
                        verbose_name="sender address",
                    ),
                ),
                (
                    "reply_to",
                    models.EmailField(blank=True, max_length=254, verbose_name="reply-to address"),
                ),
                (
                    "postal_address",
                    models.TextField(
                        blank=True,
                        help_text="Your organisation's postal address. The law in many countries (CAN-SPAM in the US) wants it in every marketing email; it is printed in each email's footer and a marketing flow cannot go live without it.",
                        verbose_name="postal address",
                    ),
                ),
                (
                    "site",
                    models.OneToOneField(
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="wagtailcore.site",
                    ),
                ),
            ],
            options={"verbose_name": "email sender"},
        ),
    ]
