from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_flows", "0004_form_page_chooser"),
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
            name="pause_reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="flow",
            name="brake_reset_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
