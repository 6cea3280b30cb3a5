"""The rows of scripts/rule_table.py: one minimal edit of the dev stack per validation rule.

The single import point for the rows, in the docs table's order: stack file and field types
(scripts/rule_rows_fields.py), block rules (scripts/rule_rows_blocks.py), then cross-field rules (scripts/rule_rows_cross.py). Row, FileRow and the edit
helpers are in scripts/rule_edits.py.
"""

from scripts.rule_edits import FileRow, Row
from scripts.rule_rows_alerts import ALERT_ROWS
from scripts.rule_rows_blocks import BLOCK_ROWS
from scripts.rule_rows_cross import CROSS_ROWS
from scripts.rule_rows_fields import FIELD_ROWS, FILE_ROWS

__all__ = ["ALERT_ROWS", "BLOCK_ROWS", "CROSS_ROWS", "FIELD_ROWS", "FILE_ROWS", "ROWS", "FileRow", "Row"]

ROWS: list = FILE_ROWS + FIELD_ROWS + BLOCK_ROWS + CROSS_ROWS + ALERT_ROWS
