"""The duplicate-detection index on the phone's blind index (replaces
appeal_phone_received_idx), and a partial index for lookups by a full ID number. Built
after 0010 filled the blind indexes (one sort instead of a million index inserts)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("appeals", "0010_seal_personal_data")]

    operations = [
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(fields=["citizen_phone_index", "-received_at"], name="appeal_phone_bidx_received_idx"),
        ),
        migrations.AddIndex(
            model_name="appeal",
            index=models.Index(
                condition=models.Q(("citizen_id_number_index", ""), _negated=True),
                fields=["citizen_id_number_index"],
                name="appeal_id_number_bidx_idx",
            ),
        ),
    ]
