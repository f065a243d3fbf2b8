"""The code engine every flow drives: a challenge opened, checked and resent (challenges.py and
the pieces it is made of), what works on a flow of any kind (any_flow.py), where every flow's
events are recorded (audit.py), and the gates in front of a flow (password_gate.py,
proof_of_work_gate.py). The use cases (flows/login.py, registration.py, ...) receive these
pieces from the composition root (runtime/) and never build them."""
