"""AWS DynamoDB Local for tests and local development (docs/dynamodb-local.md).

* ``install``: finding Java, downloading and unpacking DynamoDB Local (``ensure_installed``).
* ``server``: one in-memory, shared-database server (``DynamoDBLocal``): start, wait, stop.
* ``process``: the JVM's process group, and never letting it outlive this process.
* ``errors``: ``DynamoDBLocalError``.
* ``__main__``: ``python -m devtools.dynamodb_local install`` / ``serve [--port 8000]``.
"""
