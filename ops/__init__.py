"""The operators' command: the fraud guard's allow and deny lists of number prefixes and
countries, its holds, and the exchange rates of the payments' cumulative limit, changed
without a deploy (docs/abuse-controls.md, "Operators: rules and holds").

`python -m ops <command>` (or `make admin ARGS="<command>"`) talks to DynamoDB with the
operator's own AWS credentials: IAM is the gate (template.yaml, FraudGuardOperatorPolicy);
there is no function and no route. Each change of the lists and holds is one conditional
write, made in one transaction with its audit record (subject "operator"), so a change is
never unaudited; the rates live in SSM, whose writes are version-checked and audited right
after they land (ops/fx_rates.py).
"""
