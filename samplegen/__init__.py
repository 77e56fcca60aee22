"""The built-in sample: real code from this machine in The Stack's schema, with planted cases and their truth (tests and benches)."""
