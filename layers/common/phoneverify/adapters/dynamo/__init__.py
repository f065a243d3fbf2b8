"""DynamoDB adapters and their one toolkit (toolkit.py)."""
