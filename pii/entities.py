"""The PII families we find and redact, by the names the ledger, stats.json and the evaluations use.

A module of their own so that what only names them (the evaluation commands, before they build a
detector) need not import the pre-scan's automata and kernels (~0.9 s).
"""

EMAIL = "email"
IP_ADDRESS = "ip_address"
KEY = "key"
