import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_flows", "0005_form_field_mapping"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="bounced_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="complained_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="paced_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="flow",
            name="sunset_months",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "Skip this flow's emails to contacts who have not opened or clicked any "
                    "email for this many months, as mailbox providers advise. Empty: send to "
                    "everyone."
                ),
                null=True,
                verbose_name="skip contacts inactive for months",
            ),
        ),
        migrations.AddField(
            model_name="flow",
            name="sunset_flow",
            field=models.ForeignKey(
                blank=True,
                help_text="A re-engagement flow the skipped contacts enter instead, if it is live.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="wagtail_flows.flow",
                verbose_name="offer them this flow",
            ),
        ),
        migrations.AddField(
            model_name="flow",
            name="pause_reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="flow",
            name="brake_reset_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
