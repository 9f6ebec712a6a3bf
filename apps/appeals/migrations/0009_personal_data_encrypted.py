"""Citizens' phones and ID numbers encrypted at rest (schema).

The phone column becomes text (ciphertext is longer than a number; varchar -> text is
binary-coercible on PostgreSQL: no table rewrite), the new columns get constant defaults
(no rewrite either), and the plaintext index on the phone goes: 0010 seals the existing
rows, 0011 indexes the blind index that replaces it.
"""

import apps.core.encrypted
import apps.core.personal_data
import django.core.validators
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appeals", "0008_text_limits"),
        ("organization", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="appeal",
            name="appeal_phone_received_idx",
        ),
        migrations.AddField(
            model_name="appeal",
            name="anonymised_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="personal data anonymised at"
            ),
        ),
        migrations.AddField(
            model_name="appeal",
            name="citizen_id_number",
            field=apps.core.encrypted.EncryptedCharField(
                blank=True,
                help_text="Only for appeals that need it (e.g. social insurance, household registration); leave empty otherwise.",
                max_length=18,
                purpose="appeal.citizen_id_number",
                validators=[apps.core.personal_data.validate_id_number],
                verbose_name="citizen ID number",
            ),
        ),
        migrations.AddField(
            model_name="appeal",
            name="citizen_id_number_index",
            field=apps.core.encrypted.BlindIndexField(
                kind="id_number", source="citizen_id_number", verbose_name="citizen ID number (blind index)"
            ),
        ),
        migrations.AddField(
            model_name="appeal",
            name="citizen_phone_index",
            field=apps.core.encrypted.BlindIndexField(
                kind="phone", source="citizen_phone", verbose_name="citizen phone (blind index)"
            ),
        ),
        migrations.AddField(
            model_name="historicalappeal",
            name="anonymised_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="personal data anonymised at"
            ),
        ),
        migrations.AddField(
            model_name="historicalappeal",
            name="citizen_id_number",
            field=apps.core.encrypted.EncryptedCharField(
                blank=True,
                help_text="Only for appeals that need it (e.g. social insurance, household registration); leave empty otherwise.",
                max_length=18,
                purpose="appeal.citizen_id_number",
                validators=[apps.core.personal_data.validate_id_number],
                verbose_name="citizen ID number",
            ),
        ),
        migrations.AddField(
            model_name="historicalappeal",
            name="citizen_id_number_index",
            field=apps.core.encrypted.BlindIndexField(
                kind="id_number", source="citizen_id_number", verbose_name="citizen ID number (blind index)"
            ),
        ),
        migrations.AddField(
            model_name="historicalappeal",
            name="citizen_phone_index",
            field=apps.core.encrypted.BlindIndexField(
                kind="phone", source="citizen_phone", verbose_name="citizen phone (blind index)"
            ),
        ),
        migrations.AlterField(
            model_name="appeal",
            name="citizen_phone",
            field=apps.core.encrypted.EncryptedCharField(
                blank=True,
                max_length=20,
                purpose="appeal.citizen_phone",
                validators=[
                    django.core.validators.RegexValidator(
                        "^(1[3-9]\\d{9}|0\\d{2,3}-?\\d{7,8})$",
                        "Enter a mobile number (11 digits) or a landline with area code, e.g. 0833-2123456.",
                    )
                ],
                verbose_name="citizen phone",
            ),
        ),
        migrations.AlterField(
            model_name="historicalappeal",
            name="citizen_phone",
            field=apps.core.encrypted.EncryptedCharField(
                blank=True,
                max_length=20,
                purpose="appeal.citizen_phone",
                validators=[
                    django.core.validators.RegexValidator(
                        "^(1[3-9]\\d{9}|0\\d{2,3}-?\\d{7,8})$",
                        "Enter a mobile number (11 digits) or a landline with area code, e.g. 0833-2123456.",
                    )
                ],
                verbose_name="citizen phone",
            ),
        ),
    ]
