"""PII and secret detection and redaction for source code (Presidio + detect-secrets; our or BigCode's replacements).

Importing any ``pii`` module first points tldextract (used by Presidio's email
recognizer) at no download URL, so nothing here ever reaches the network.
"""

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
