"""Lifecycles as data: each conditional write a store makes, with the states it moves from,
the state it moves to and its other guards, and the pure functions that decide whether it
applies and what it changes. The DynamoDB adapters build their condition expressions from
these rules and the in-memory fakes check against them: payment.py (a payment), flow.py (a
pending verification), account_lock.py (the wrong-code account lock)."""
