from django.db import migrations

from portal.migration_ops import fill_rows, search_index


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0001_initial"),
        ("mirror", "0007_automation_line_indexes"),
    ]

    operations = [
        search_index("automation_queuerow", "automation_row_search_trgm"),
        # The board rows of queues mirrored before the board had its table (the current builder).
        fill_rows("mirror.AutomationQueue", "automation.rows.rebuild"),
    ]
