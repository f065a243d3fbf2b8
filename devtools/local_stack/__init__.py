"""`make run` (``python -m devtools.local_stack``): the whole system on 127.0.0.1.

* ``stack``: ``LocalStack``, starting and stopping each service.
* ``config``: ``StackConfig`` and the raised local send limits.
* ``ports``: the port variables (API_PORT, EMULATOR_PORT, AWS_PORT, WS_PORT) and their checks.
* ``seeding``: SSM parameters, process secrets, sample exchange rates, the demo accounts.
* ``site``: the web page's config.js and the OpenAPI document the gateway serves.
* ``__main__``: the command line and the banner.
"""
