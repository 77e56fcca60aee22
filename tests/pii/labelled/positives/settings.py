"""Deployment settings for the ingest service.

Maintainer: Mira Okafor <mira.okafor@quintessa-labs.io>
Escalations go to dev-ops@harbourline.co.uk (on-call rota).
"""

import os

DEBUG = False
ALLOWED_HOSTS = ["ingest.harbourline.co.uk", "121.132.168.171"]
REPLICA_ADDRESS = "113.226.115.168"
PEER_V6 = "2440:14be:f93f:e42e:abd2:d9f2:9fb9:3534"

AWS_ACCESS_KEY_ID = "AKIASUOSG0WP8I8ZZXXN"
aws_secret_access_key = "+JeNtyguhE1lDW6rXRRbr7rz53L3A+RFZK1j+O82"
GITHUB_TOKEN = "ghp_kUZk8uxGRSQLVyqQgl9tmKNWNjnh6NYSBcJc"
SLACK_BOT_TOKEN = "xoxb-568641069908-5262731124900-oC0nd0uAjDIzQLooygMhKEf7"
STRIPE_SECRET = "sk_live_cQURDB5W2hyiTBi9c9WxSpyE"
ADMIN_PASSWORD = "zw2QGW!pZeKGU7"
SESSION_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiAiMTc5ODM5MDA0OCIsICJuYW1lIjogIk1pcmEgT2thZm9yIiwgImlhdCI6IDE3MTYyMzkwMjJ9.D6U1Jf8X6mfQmx7jYsVfmkUbk42Toe0fcFrq7qVyUGK"
MAPS_KEY = "AIza3FA9VO6Im713UWPLT6YB_Jt-Uy704t9FOYY"
SENDGRID_API_KEY = "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"
DATABASE_URL = "postgres://ingest:x8v1w4xq2tgf7g@db.harbourline.co.uk:5432/ingest"

SIGNING_KEY = """-----BEGIN RSA PRIVATE KEY-----
+soffFi/d+/3L6bADj7LmtI7YRnZ63rB+ri5MTykSB6VS8FkbQ2vLyJsNAwzFEZc
ggEm7s/dhHd3jJfV3alF+iwKVjoksOEQdAATbG6AhAhfVkuklZUO/on/b5s9Ybs8
j1GdxEkseGqLeclCnYCCfBIJ43R6sc2Opu4Yrmez6to9hgpRUs6aDHrB5CllVa7F
PFpiGgJxM91fnCFoekR0AIACs8j7k2jwVZA5lw6uGXTQKaFRP+wAGDbCNbLQYBMM
+gPbZiWU1f+0ufTIIUW9Oql3RzLYqeiAlariw7VuS9W410vN5HJZo/3KaGCcAPVY
R4b0FIMtbmIS/osvieXpYNWxLL7973Kf7tWgt5/r7mUqPfk89dmCua9ZfbeKHN6C
j7qDOO2cLXwYwQBJMIGc/ZELyLX0Z4F5jzscNdw6TgGX7GpNXZW6b5teVz61aF7W
sCnzHmwEEjvtK7oZUnZfOsdMzQdDY2sYaua8F1FtizzXQP3bBrS11eXPFa4bcLih
plJXq3KbsCmcx9e64Egs4shO4Xxq4b3+jnCbnrrchQxdQ7EqTW2vWkr6Xa8mZLHx
bUgfOrXxZ/hswmn/l+ZTPGr/6rRt7sSx9KHCOkfYTbnnlDHI6clUycrI8WEKZA8a
0abw79IWQYCOZwNrrlo7furIEw6YkrQppE1H==
-----END RSA PRIVATE KEY-----
"""


def contact():
    # Questions? Write to t.lindqvist@postbox.se
    return os.environ.get("CONTACT", "mira.okafor@quintessa-labs.io")
